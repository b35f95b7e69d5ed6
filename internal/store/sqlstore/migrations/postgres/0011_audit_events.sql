-- The audit trail (issue #17, package audit; store.EventStore).
--
-- Mirrors the SQLite schema of the same version. seq is an identity
-- column: a deleted event's seq is never assigned again. Appends lock the
-- table (EXCLUSIVE, readers are not blocked) so that seqs become visible
-- in order; see sqlstore's AppendEvents. Times are bigint unix
-- milliseconds, UTC. detail is a JSON object of strings, kept as text; it
-- never holds a password, token, secret or code.
CREATE TABLE events (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         bigint NOT NULL,
    type       text   COLLATE "C" NOT NULL,
    actor_kind text   NOT NULL DEFAULT '',
    actor_id   text   NOT NULL DEFAULT '',
    user_id    text   COLLATE "C" NOT NULL DEFAULT '',
    session_id text   NOT NULL DEFAULT '',
    client_id  text   NOT NULL DEFAULT '',
    ip         text   NOT NULL DEFAULT '',
    user_agent text   NOT NULL DEFAULT '',
    detail     text   NOT NULL DEFAULT '{}'
);

-- ListEvents filtered by user (the account center, the admin API), newest
-- first.
CREATE INDEX events_user ON events (user_id, seq) WHERE user_id <> '';
-- ListEvents filtered by type.
CREATE INDEX events_type ON events (type, seq);
-- DeleteEventsBefore (retention) and time ranges.
CREATE INDEX events_at ON events (at);
