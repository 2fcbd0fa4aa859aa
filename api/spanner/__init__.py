"""Generic Spanner access: client and session pools, transactions with retries and
tags, error mapping, and migrations. The emulator for local runs and tests lives in
devtools/, outside the shipped package."""
