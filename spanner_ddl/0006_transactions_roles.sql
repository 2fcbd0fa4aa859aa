-- requires: fine-grained-access-control
--
-- Transactions: both roles read them; the writer inserts them and links a reversal
-- to what it reverses (UPDATE). Still no DELETE for any role.

GRANT SELECT ON TABLE Transactions TO ROLE ledger_reader;

GRANT SELECT, INSERT, UPDATE ON TABLE Transactions TO ROLE ledger_writer;
