-- Webhooks and OpenID Connect Back-Channel Logout (package store:
-- WebhookStore, DeliveryOutbox, BackchannelStore, TailCursorStore).
-- Times are bigint unix milliseconds, NULL while unset.

-- Back-channel logout registration of a client.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri text NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required boolean NOT NULL DEFAULT false;

-- Webhook endpoints registered by operators. The signing secrets are
-- sealed under the key-encryption key; the previous secret keeps signing
-- until previous_until after a rotation.
CREATE TABLE webhook_endpoints (
    id              text    COLLATE "C" NOT NULL PRIMARY KEY,
    url             text    NOT NULL,
    description     text    NOT NULL DEFAULT '',
    event_types     text[]  NOT NULL DEFAULT '{}',
    enabled         boolean NOT NULL DEFAULT true,
    secret          bytea   NOT NULL,
    previous_secret bytea,
    previous_until  bigint,
    created_at      bigint  NOT NULL,
    updated_at      bigint  NOT NULL
);

CREATE INDEX webhook_endpoints_created ON webhook_endpoints (created_at, id);

-- The durable queue of outgoing HTTP deliveries: webhook messages and
-- logout tokens. Same life as mail_outbox: pending, then delivered or
-- dead; claims lease rows.
CREATE TABLE deliveries (
    id              text    COLLATE "C" NOT NULL PRIMARY KEY,
    kind            text    NOT NULL CHECK (kind IN ('webhook', 'backchannel_logout')),
    target          text    COLLATE "C" NOT NULL,
    message_id      text    NOT NULL,
    payload         bytea,
    created_at      bigint  NOT NULL,
    state           text    NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    next_attempt_at bigint  NOT NULL,
    attempts        bigint  NOT NULL DEFAULT 0,
    last_attempt_at bigint,
    last_status     bigint  NOT NULL DEFAULT 0,
    last_error      text    NOT NULL DEFAULT '',
    lease_holder    text    NOT NULL DEFAULT '',
    lease_until     bigint,
    finished_at     bigint
);

CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE state <> 'pending';
CREATE INDEX deliveries_target ON deliveries (kind, target, created_at);

-- The browser sessions a back-channel logout client received an ID
-- token for: sid is the ID token's "sid".
CREATE TABLE backchannel_sessions (
    client_id  text   COLLATE "C" NOT NULL,
    sid        text   COLLATE "C" NOT NULL,
    subject    text   COLLATE "C" NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (client_id, sid)
);

CREATE INDEX backchannel_sessions_sid ON backchannel_sessions (sid);
CREATE INDEX backchannel_sessions_subject ON backchannel_sessions (subject);
CREATE INDEX backchannel_sessions_expires ON backchannel_sessions (expires_at);

-- Durable cursors of the event log's tailing consumers.
CREATE TABLE tail_cursors (
    name       text   COLLATE "C" NOT NULL PRIMARY KEY,
    seq        bigint NOT NULL,
    updated_at bigint NOT NULL
);
