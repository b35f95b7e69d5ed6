-- The durable mail outbox (package store: MailOutbox). Payloads are
-- sealed by package mail; times are INTEGER unix milliseconds, NULL while
-- unset.

CREATE TABLE mail_outbox (
    id              TEXT    NOT NULL PRIMARY KEY,
    kind            TEXT    NOT NULL,
    payload         BLOB,
    created_at      INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    lease_holder    TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER,
    finished_at     INTEGER
) STRICT;

-- Claims look for due pending mails; the sweep for old finished ones.
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX mail_outbox_finished ON mail_outbox (finished_at) WHERE state <> 'pending';
