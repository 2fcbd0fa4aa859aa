-- Transfer queries over time (GET /v1/transfers without an account): a time index on
-- Transfers, sharded so that new transfers (all "now") spread over 15 ranges instead of
-- piling onto the last split. The shard is a stored generated column, so Spanner fills
-- it for the transfers already stored. MOD of the signed key hash is -7..7.
--
-- Queries by account read the account's entries instead (interleaved, keyed by the
-- account): each transfer has one creation entry per side.
ALTER TABLE Transfers ADD COLUMN CreatedShard INT64 AS (MOD(KeyHash, 8)) STORED;

CREATE INDEX TransfersByCreation ON Transfers (CreatedShard, CreatedAt DESC);
