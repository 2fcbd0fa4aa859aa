-- requires: fine-grained-access-control
--
-- PLACEHOLDER, not for main: version 0013 belongs to another branch, and the runner
-- refuses a gap before 0014_entry_totals.sql. Delete this file when merging (the real
-- 0013 takes its place). It changes nothing anywhere: the emulator skips it, and on
-- Cloud Spanner it repeats a grant that 0002 already made.

GRANT SELECT ON TABLE Entries TO ROLE ledger_reader;
