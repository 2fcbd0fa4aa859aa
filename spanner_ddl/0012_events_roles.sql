-- requires: fine-grained-access-control
--
-- The relay runs as its own role: it reads the change stream (and nothing else of the
-- ledger), writes Events and its bookkeeping. The reader serves the pull feed, so it
-- reads Events and the partitions' watermarks. Still no DELETE for any role: events
-- age out by the row deletion policy.

CREATE ROLE ledger_relay;

GRANT SELECT ON CHANGE STREAM LedgerChanges TO ROLE ledger_relay;

GRANT EXECUTE ON TABLE FUNCTION READ_LedgerChanges TO ROLE ledger_relay;

GRANT SELECT, INSERT, UPDATE ON TABLE Events, EventPartitions, EventSinkCursors,
  WebhookDeadLetters TO ROLE ledger_relay;

GRANT SELECT ON TABLE SchemaMigrations TO ROLE ledger_relay;

GRANT SELECT ON TABLE Events, EventPartitions TO ROLE ledger_reader, ledger_writer;
