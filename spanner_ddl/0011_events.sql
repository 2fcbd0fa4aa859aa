-- Events: every committed change to the ledger, from a change stream.
--
-- The stream is written in the same transaction as the data it describes, so a
-- committed change can never be missed and an aborted one never appears: no outbox,
-- no dual write. The relay (api/events/relay.py) reads it, turns its records into
-- events, and stores them in Events; the pull feed, Pub/Sub and the webhooks all read
-- Events in commit order up to the relay's watermark.
--
-- Accounts are watched on the columns that define an account, not its balances: a
-- posting updates balances on every transfer, and each of those writes would
-- otherwise add two records to the stream. NEW_ROW_AND_OLD_VALUES gives the whole
-- watched row (an event carries the resource) and the old values of what changed
-- (a transfer.posted is a Status that changed).
CREATE CHANGE STREAM LedgerChanges
  FOR Accounts(Currency, DebitsMustNotExceedCredits, CreditsMustNotExceedDebits, Metadata,
               CreatedAt, Closed, BalanceLowerBound, BalanceUpperBound, Labels),
      Transfers, Transactions
  OPTIONS (value_capture_type = 'NEW_ROW_AND_OLD_VALUES', retention_period = '7d');

-- Sharded by event id: a key that starts with a timestamp would put every write on
-- one split. Readers merge the shards by (CommitTimestamp, Position). Position orders
-- the events of one commit timestamp: the Spanner transaction, the record's sequence
-- in it, the mod and the event of the mod.
CREATE TABLE Events (
  Shard INT64 NOT NULL,
  CommitTimestamp TIMESTAMP NOT NULL,
  Position STRING(MAX) NOT NULL,
  EventId STRING(36) NOT NULL,
  Type STRING(32) NOT NULL,
  AccountIds ARRAY<STRING(64)> NOT NULL,
  Data JSON NOT NULL,
) PRIMARY KEY (Shard, CommitTimestamp, Position),
  ROW DELETION POLICY (OLDER_THAN(CommitTimestamp, INTERVAL 30 DAY));

-- The relay's progress in each change stream partition. Watermark: every record of
-- the partition committed at or before it is in Events. The feed's complete_until is
-- the least Watermark of the partitions not finished.
CREATE TABLE EventPartitions (
  PartitionToken STRING(MAX) NOT NULL,
  ParentTokens ARRAY<STRING(MAX)> NOT NULL,
  StartTimestamp TIMESTAMP NOT NULL,
  Watermark TIMESTAMP NOT NULL,
  Finished BOOL NOT NULL,
  UpdatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (PartitionToken);

-- Where each delivery (Pub/Sub, one per webhook endpoint) is in Events: everything at
-- or before (CommitTimestamp, Position) has been delivered or dead-lettered. An empty
-- Position means every event of CommitTimestamp.
CREATE TABLE EventSinkCursors (
  SinkId STRING(128) NOT NULL,
  CommitTimestamp TIMESTAMP NOT NULL,
  Position STRING(MAX) NOT NULL,
  UpdatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (SinkId);

-- A webhook delivery given up after its last attempt; the event itself is kept so an
-- operator can redeliver it.
CREATE TABLE WebhookDeadLetters (
  EndpointId STRING(64) NOT NULL,
  EventId STRING(36) NOT NULL,
  Attempts INT64 NOT NULL,
  LastError STRING(MAX) NOT NULL,
  Event JSON NOT NULL,
  DeadAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (EndpointId, EventId);
