"""Accounts: opening them, reading them and their history of entries."""
