-- The durable mail outbox (package store: MailOutbox). Payloads are
-- sealed by package mail; times are bigint unix milliseconds, NULL while
-- unset.

CREATE TABLE mail_outbox (
    id              text    NOT NULL PRIMARY KEY,
    kind            text    NOT NULL,
    payload         bytea,
    created_at      bigint  NOT NULL,
    state           text    NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
    next_attempt_at bigint  NOT NULL,
    attempts        bigint  NOT NULL DEFAULT 0,
    last_error      text    NOT NULL DEFAULT '',
    lease_holder    text    NOT NULL DEFAULT '',
    lease_until     bigint,
    finished_at     bigint
);

-- Claims look for due pending mails; the sweep for old finished ones.
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX mail_outbox_finished ON mail_outbox (finished_at) WHERE state <> 'pending';
