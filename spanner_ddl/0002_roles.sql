-- requires: fine-grained-access-control
--
-- The two Spanner database roles the service assumes (fine-grained access control).
-- A caller's token scopes pick the handle, and the handle's sessions carry the role:
-- ledger.read -> ledger_reader, ledger.write -> ledger_writer (api/spanner/handles.py).
--
-- Least privilege:
--   - no role gets DELETE on anything: ledger history is never removed by the service;
--   - ledger_writer writes exactly what a transfer or a new account buffers: Accounts
--     (INSERT a new account, UPDATE its totals), Transfers (INSERT), Entries (INSERT);
--   - both may read the ledger tables, and SchemaMigrations so that /readyz can check
--     the schema version; neither may write the migration bookkeeping
--     (SchemaMigrations, SchemaMigrationsHistory, SchemaMigrationsLock): only the
--     migration runner, with DDL rights and no database role, does.
--
-- Interleaved tables do not inherit privileges from their parent (Entries from
-- Accounts), so every table is named. A grant without a column list also covers
-- columns added later.
--
-- The emulator rejects CREATE ROLE and GRANT: the runner skips them there (with a
-- notice) and sends them to Cloud Spanner. See docs/SECURITY.md.

CREATE ROLE ledger_reader;

GRANT SELECT ON TABLE Accounts, Transfers, Entries, SchemaMigrations TO ROLE ledger_reader;

CREATE ROLE ledger_writer;

GRANT SELECT ON TABLE Accounts, Transfers, Entries, SchemaMigrations TO ROLE ledger_writer;

GRANT INSERT, UPDATE ON TABLE Accounts TO ROLE ledger_writer;

GRANT INSERT ON TABLE Transfers, Entries TO ROLE ledger_writer;
