"""spanner-ledger: a double-entry ledger over Cloud Spanner, served by FastAPI."""

__version__ = "0.1.0"
