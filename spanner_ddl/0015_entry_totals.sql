-- Statements from two seeks, and one commit's entries in a defined order.
--
-- Each entry carries the account's posted totals after it, as BalanceAfter carries its
-- balance: the debits and credits over a time range are the totals after the range's
-- last entry less those after the entry before it, whatever lies between. They are
-- written in the same transaction as the entry (api/transfers/posting.py).
--
-- NULL: the entry was written before this file, or by a revision older than it while a
-- deploy or a rollback overlapped. Readers then sum the range's amounts instead (correct,
-- but a scan); `python -m api.accounts.backfill` fills them in (docs/OPERATIONS.md).
ALTER TABLE Entries ADD COLUMN DebitsAfter INT64;

ALTER TABLE Entries ADD COLUMN CreditsAfter INT64;

-- As EntriesByTime (0007), with Sequence in the key: the entries of one commit share
-- one PostedAt, and "the last entry at or before T" must be the last of them. 0007 left
-- that order to the base table's key, which Spanner appends to an index key without
-- documenting its direction. STORING what as_of and a statement read, so neither goes
-- back to the table. EntriesByTime is no longer read; it is dropped in a later release
-- (a contraction: the revisions before this one read it).
CREATE INDEX EntriesByPostedAt ON Entries (KeyHash, AccountId, PostedAt DESC, Sequence DESC)
  STORING (BalanceAfter, DebitsAfter, CreditsAfter), INTERLEAVE IN Accounts;
