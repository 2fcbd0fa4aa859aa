"""The batch endpoint: up to 1,000 transfers, holds, transactions and actions on them."""
