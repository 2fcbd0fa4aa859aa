"""Balances: many accounts read from one consistent snapshot."""
