-- Users and session records (package store: User, Session).
--
-- Mirrors the SQLite schema of the same version. Times are bigint unix
-- milliseconds, UTC, as in SQLite, so both backends truncate and compare
-- them the same way. JSON columns are jsonb: PostgreSQL validates them,
-- and may reorder keys and drop insignificant spaces (callers compare
-- session data as decoded JSON). Identifiers and emails use the "C"
-- collation: compared and sorted byte by byte, as in SQLite and Go,
-- whatever the database's locale.

CREATE TABLE users (
    id            text    COLLATE "C" NOT NULL PRIMARY KEY,
    email         text    COLLATE "C" NOT NULL,
    password_hash text                NOT NULL,
    claims        jsonb               NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(claims) = 'object'),
    disabled      boolean             NOT NULL DEFAULT false,
    created_at    bigint              NOT NULL,
    updated_at    bigint              NOT NULL
);

-- Emails are compared exactly: callers normalise them.
CREATE UNIQUE INDEX users_email ON users (email);

-- Sessions reference users by id without a foreign key: the session store
-- is usable on its own, and a user's sessions are removed explicitly with
-- DeleteUserSessions.
CREATE TABLE sessions (
    id              text   COLLATE "C" NOT NULL PRIMARY KEY,
    -- SHA-256 of the cookie secret; NULL for token grants, so that any
    -- number of them coexist under the unique index below.
    secret_hash     bytea,
    kind            text   NOT NULL,
    user_id         text   COLLATE "C" NOT NULL,
    client_id       text   COLLATE "C" NOT NULL DEFAULT '',
    scope           text   NOT NULL DEFAULT '',
    created_at      bigint NOT NULL,
    last_seen_at    bigint NOT NULL,
    idle_expires_at bigint NOT NULL,
    expires_at      bigint NOT NULL,
    user_agent      text   NOT NULL DEFAULT '',
    ip              text   NOT NULL DEFAULT '',
    data            jsonb  NOT NULL DEFAULT '{}',
    -- The ETag of data: raised by one, in the same UPDATE, on every write.
    data_version    bigint NOT NULL DEFAULT 0
);

CREATE UNIQUE INDEX sessions_secret_hash ON sessions (secret_hash);
-- ListUserSessions and DeleteUserSessions; ordered for "oldest first".
CREATE INDEX sessions_user_id ON sessions (user_id, created_at);
-- DeleteExpiredSessions and CountSessions.
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_idle_expires_at ON sessions (idle_expires_at);
