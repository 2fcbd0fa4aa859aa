-- History by time: an account's balance at any instant, statements over a time range,
-- and entries between two instants, each a seek instead of a scan of the history.
--
-- An account's entries are in commit order (each commit of an account locks its row),
-- so PostedAt never decreases with Sequence; this index finds "the last entry at or
-- before T" or the first of a range in one seek. It is interleaved in Accounts and
-- leads with the account's key hash, like Entries: writes spread with the accounts and
-- never pile onto one split. STORING what a balance and a statement need, so neither
-- goes back to the table.
CREATE INDEX EntriesByTime ON Entries (KeyHash, AccountId, PostedAt DESC)
  STORING (Amount, BalanceAfter), INTERLEAVE IN Accounts;
