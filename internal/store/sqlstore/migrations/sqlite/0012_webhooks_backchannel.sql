-- Webhooks and OpenID Connect Back-Channel Logout (package store:
-- WebhookStore, DeliveryOutbox, BackchannelStore, TailCursorStore).
-- Times are INTEGER unix milliseconds, NULL while unset.

-- Back-channel logout registration of a client.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required INTEGER NOT NULL DEFAULT 0
    CHECK (backchannel_logout_session_required IN (0, 1));

-- Webhook endpoints registered by operators. The signing secrets are
-- sealed under the key-encryption key; the previous secret keeps signing
-- until previous_until after a rotation.
CREATE TABLE webhook_endpoints (
    id              TEXT    NOT NULL PRIMARY KEY,
    url             TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    event_types     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(event_types)),
    enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    secret          BLOB    NOT NULL,
    previous_secret BLOB,
    previous_until  INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX webhook_endpoints_created ON webhook_endpoints (created_at, id);

-- The durable queue of outgoing HTTP deliveries: webhook messages and
-- logout tokens. Same life as mail_outbox: pending, then delivered or
-- dead; claims lease rows.
CREATE TABLE deliveries (
    id              TEXT    NOT NULL PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind IN ('webhook', 'backchannel_logout')),
    target          TEXT    NOT NULL,
    message_id      TEXT    NOT NULL,
    payload         BLOB,
    created_at      INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_attempt_at INTEGER,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    lease_holder    TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER,
    finished_at     INTEGER
) STRICT;

CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE state <> 'pending';
CREATE INDEX deliveries_target ON deliveries (kind, target, created_at);

-- The browser sessions a back-channel logout client received an ID
-- token for: sid is the ID token's "sid".
CREATE TABLE backchannel_sessions (
    client_id  TEXT    NOT NULL,
    sid        TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, sid)
) STRICT;

CREATE INDEX backchannel_sessions_sid ON backchannel_sessions (sid);
CREATE INDEX backchannel_sessions_subject ON backchannel_sessions (subject);
CREATE INDEX backchannel_sessions_expires ON backchannel_sessions (expires_at);

-- Durable cursors of the event log's tailing consumers.
CREATE TABLE tail_cursors (
    name       TEXT    NOT NULL PRIMARY KEY,
    seq        INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
