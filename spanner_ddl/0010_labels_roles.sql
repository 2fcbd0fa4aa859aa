-- requires: fine-grained-access-control
--
-- Label index tables: read by both roles, written (INSERT only: labels are set at
-- creation and never change) by the writer.

GRANT SELECT ON TABLE AccountLabels, TransferLabels TO ROLE ledger_reader;

GRANT SELECT, INSERT ON TABLE AccountLabels, TransferLabels TO ROLE ledger_writer;
