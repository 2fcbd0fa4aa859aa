-- Labels on accounts and transfers: a small string map set at creation, returned with
-- the row (Labels) and indexed for queries (one row per pair in *Labels tables).
ALTER TABLE Accounts ADD COLUMN Labels JSON;

ALTER TABLE Transfers ADD COLUMN Labels JSON;

-- GET /v1/accounts?label.K=V: the pair's accounts in key order. Keyed by the pair, then
-- the account's key (hash-led): the accounts of one pair spread over the hash range.
CREATE TABLE AccountLabels (
  LabelKey STRING(63) NOT NULL,
  LabelValue STRING(128) NOT NULL,
  KeyHash INT64 NOT NULL,
  AccountId STRING(64) NOT NULL,
) PRIMARY KEY (LabelKey, LabelValue, KeyHash, AccountId);

-- GET /v1/transfers?label.K=V: the pair's transfers newest first. A popular pair gets
-- new rows all "now": Shard (MOD of the transfer's key hash by 8, -7..7) splits them
-- into 15 time-ordered ranges, read with one seek each and merged.
CREATE TABLE TransferLabels (
  LabelKey STRING(63) NOT NULL,
  LabelValue STRING(128) NOT NULL,
  Shard INT64 NOT NULL,
  CreatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  KeyHash INT64 NOT NULL,
  TransferId STRING(80) NOT NULL,
) PRIMARY KEY (LabelKey, LabelValue, Shard, CreatedAt DESC, KeyHash, TransferId);

-- A transaction's own labels (each leg has them too, with its own).
ALTER TABLE Transactions ADD COLUMN Labels JSON;
