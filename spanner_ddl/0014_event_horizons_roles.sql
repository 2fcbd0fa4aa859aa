-- requires: fine-grained-access-control
--
-- The relay finds when its change stream began in the migration history (the runner
-- records each statement's commit timestamp), and records where the feed starts. The
-- feed's readers read where it starts.

GRANT SELECT ON TABLE SchemaMigrationsHistory TO ROLE ledger_relay;

GRANT SELECT, INSERT, UPDATE ON TABLE EventFeedStarts TO ROLE ledger_relay;

GRANT SELECT ON TABLE EventFeedStarts TO ROLE ledger_reader, ledger_writer;
