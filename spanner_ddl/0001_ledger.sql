-- The ledger: accounts, transfers, and one entry per account leg.
--
-- Ids are chosen by clients and may well be sequential ("acct-0001", "tx-000042"), so
-- every key leads with KeyHash, a 64-bit hash of the id computed by the service
-- (api/ids.py): writes spread over all splits instead of piling onto the last one.
-- Amounts are INT64 minor units. Balance = CreditsPosted - DebitsPosted.

CREATE TABLE Accounts (
  KeyHash INT64 NOT NULL,
  AccountId STRING(64) NOT NULL,
  Currency STRING(16) NOT NULL,
  DebitsMustNotExceedCredits BOOL NOT NULL,
  CreditsMustNotExceedDebits BOOL NOT NULL,
  Metadata JSON,
  DebitsPosted INT64 NOT NULL,
  CreditsPosted INT64 NOT NULL,
  DebitsPending INT64 NOT NULL,
  CreditsPending INT64 NOT NULL,
  -- Number of entries written; the next entry's Sequence is Version + 1.
  Version INT64 NOT NULL,
  -- Fingerprint of the request that opened the account, for idempotent replays.
  RequestHash STRING(64) NOT NULL,
  CreatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  UpdatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  CONSTRAINT AccountTotalsNotNegative CHECK (
    DebitsPosted >= 0 AND CreditsPosted >= 0 AND DebitsPending >= 0 AND CreditsPending >= 0
  ),
  CONSTRAINT AccountFlagsExclusive CHECK (
    NOT (DebitsMustNotExceedCredits AND CreditsMustNotExceedDebits)
  ),
) PRIMARY KEY (KeyHash, AccountId);

CREATE INDEX AccountsByCurrency ON Accounts (Currency, KeyHash, AccountId);

CREATE TABLE Transfers (
  KeyHash INT64 NOT NULL,
  TransferId STRING(64) NOT NULL,
  DebitAccountId STRING(64) NOT NULL,
  CreditAccountId STRING(64) NOT NULL,
  Amount INT64 NOT NULL,
  Currency STRING(16) NOT NULL,
  Status STRING(16) NOT NULL,
  Metadata JSON,
  RequestHash STRING(64) NOT NULL,
  CreatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  CONSTRAINT TransferAmountPositive CHECK (Amount > 0),
  CONSTRAINT TransferLegsDiffer CHECK (DebitAccountId != CreditAccountId),
) PRIMARY KEY (KeyHash, TransferId);

-- Newest first is the common read, hence Sequence DESC.
CREATE TABLE Entries (
  KeyHash INT64 NOT NULL,
  AccountId STRING(64) NOT NULL,
  Sequence INT64 NOT NULL,
  TransferId STRING(64) NOT NULL,
  -- Signed: negative for the debit leg, positive for the credit leg.
  Amount INT64 NOT NULL,
  BalanceAfter INT64 NOT NULL,
  PostedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (KeyHash, AccountId, Sequence DESC),
  INTERLEAVE IN PARENT Accounts ON DELETE NO ACTION;
