"""Generic Spanner access: client and session pools, transactions with retries and
tags, error mapping, the emulator for local runs and tests, and migrations."""
