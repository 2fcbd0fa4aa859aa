-- The transfer lifecycle: holds (pending, then posted / voided / expired), reversals,
-- closed accounts and balance bounds. Every column is added with a default that
-- keeps what 0001 wrote meaning what it meant.

-- A closed account takes no new transfers; reads still work.
ALTER TABLE Accounts ADD COLUMN Closed BOOL NOT NULL DEFAULT (false);

-- Optional bounds on the balance (credits - debits), with holds counted: an overdraft
-- limit (lower) or a credit limit (upper). NULL: unbounded.
ALTER TABLE Accounts ADD COLUMN BalanceLowerBound INT64;

ALTER TABLE Accounts ADD COLUMN BalanceUpperBound INT64;

-- Was it created as a hold? Then Status moves from 'pending' to 'posted', 'voided' or
-- 'expired' exactly once.
ALTER TABLE Transfers ADD COLUMN Pending BOOL NOT NULL DEFAULT (false);

ALTER TABLE Transfers ADD COLUMN ExpiresAt TIMESTAMP;

-- What a posted hold settled (at most Amount; the rest was released).
ALTER TABLE Transfers ADD COLUMN PostedAmount INT64;

ALTER TABLE Transfers ADD COLUMN ResolvedAt TIMESTAMP OPTIONS (allow_commit_timestamp = true);

-- A reversal names what it reverses; the reversed transfer counts what was reversed.
ALTER TABLE Transfers ADD COLUMN ReversesTransferId STRING(64);

ALTER TABLE Transfers ADD COLUMN ReversedAmount INT64 NOT NULL DEFAULT (0);

-- Set only while a hold with a timeout is pending (NULL once resolved), so the index
-- below holds just the live holds the sweeper looks for. The shard (0-15, from the
-- key hash) spreads that time index over splits.
ALTER TABLE Transfers ADD COLUMN ExpiryShard INT64;

ALTER TABLE Transfers ADD COLUMN PendingExpiresAt TIMESTAMP;

CREATE NULL_FILTERED INDEX TransfersByPendingExpiry
  ON Transfers (ExpiryShard, PendingExpiresAt);

-- What an entry records: 'transfer' (money moved), 'hold' (an amount reserved),
-- 'hold_posted', 'hold_voided', 'hold_expired' (a hold resolved), 'reversal'.
ALTER TABLE Entries ADD COLUMN Kind STRING(16) NOT NULL DEFAULT ('transfer');

-- Signed change of what holds reserve on the account: negative when a debit is held
-- (it reduces the available balance), positive when a credit is; undone on release.
ALTER TABLE Entries ADD COLUMN PendingAmount INT64 NOT NULL DEFAULT (0);
