-- requires: fine-grained-access-control
--
-- Resolving a hold and reversing a transfer change a stored transfer (its status, the
-- posted and reversed amounts): the writer role may now UPDATE Transfers. Still no
-- DELETE for any role.

GRANT UPDATE ON TABLE Transfers TO ROLE ledger_writer;
