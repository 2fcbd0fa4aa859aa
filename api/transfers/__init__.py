"""Transfers: moving money between two accounts, exactly once per client-chosen id."""
