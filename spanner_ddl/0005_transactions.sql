-- Multi-leg transactions: one client id over several transfers (legs) that apply,
-- settle, release and are reversed as one.
--
-- A leg is a row of Transfers like any other, with TransactionId set. Its id is the
-- transaction's, '~' and the leg's index (0-99): '~' is outside the id pattern clients
-- may use, so a leg id never collides with a client-chosen transfer id. That id can be
-- 67 characters long, so the transfer id columns grow (Transfers has no interleaved
-- children, so its key column may change length).
ALTER TABLE Transfers ALTER COLUMN TransferId STRING(80) NOT NULL;

ALTER TABLE Transfers ALTER COLUMN ReversesTransferId STRING(80);

ALTER TABLE Entries ALTER COLUMN TransferId STRING(80) NOT NULL;

ALTER TABLE Transfers ADD COLUMN TransactionId STRING(64);

-- The transaction itself: what it was asked to be, and the links of its life. Its
-- status is its legs' (they are settled, released, expired and reversed together).
CREATE TABLE Transactions (
  KeyHash INT64 NOT NULL,
  TransactionId STRING(64) NOT NULL,
  LegCount INT64 NOT NULL,
  Pending BOOL NOT NULL,
  ExpiresAt TIMESTAMP,
  Metadata JSON,
  -- Fingerprint of the creating request, for idempotent replays.
  RequestHash STRING(64) NOT NULL,
  CreatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  ReversesTransactionId STRING(64),
  ReversedByTransactionId STRING(64),
  CONSTRAINT TransactionLegCount CHECK (LegCount BETWEEN 1 AND 100),
) PRIMARY KEY (KeyHash, TransactionId);
