-- The audit trail (issue #17, package audit; store.EventStore).
--
-- seq orders the log; AUTOINCREMENT keeps a deleted event's seq from
-- being assigned again, so a tailer whose cursor points at a pruned event
-- still sees every later one. Times are INTEGER unix milliseconds, UTC.
-- detail is a JSON object of strings; it never holds a password, token,
-- secret or code.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    actor_kind TEXT    NOT NULL DEFAULT '',
    actor_id   TEXT    NOT NULL DEFAULT '',
    user_id    TEXT    NOT NULL DEFAULT '',
    session_id TEXT    NOT NULL DEFAULT '',
    client_id  TEXT    NOT NULL DEFAULT '',
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
) STRICT;

-- ListEvents filtered by user (the account center, the admin API), newest
-- first.
CREATE INDEX events_user ON events (user_id, seq) WHERE user_id <> '';
-- ListEvents filtered by type.
CREATE INDEX events_type ON events (type, seq);
-- DeleteEventsBefore (retention) and time ranges.
CREATE INDEX events_at ON events (at);
