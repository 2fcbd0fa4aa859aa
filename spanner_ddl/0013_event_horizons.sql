-- Where the event feed begins, and sink ids of any length.
--
-- EventFeedStarts: one row each time the relay began reading the change stream afresh:
-- on its first start (from the stream's creation, recorded by the migration runner), or
-- after an operator accepted a gap (LEDGER_EVENTS_ACCEPT_GAP: the stream could no
-- longer be read from where the relay stood). The feed's starts_at is the latest
-- StartsAt: every event committed from then on is served, nothing before it is. A few
-- rows in the life of a database, so a timestamp key is no hot spot here.
CREATE TABLE EventFeedStarts (
  StartsAt TIMESTAMP NOT NULL,
  Reason STRING(MAX) NOT NULL,
  RecordedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (StartsAt);

-- A Pub/Sub sink's id is its topic's path, which Pub/Sub allows up to ~300 characters
-- (a 30-character project, a 255-character topic): 128 could not hold it.
ALTER TABLE EventSinkCursors ALTER COLUMN SinkId STRING(MAX) NOT NULL;
