-- Users and session records (package store: User, Session).
--
-- Times are INTEGER unix milliseconds, UTC. JSON columns are TEXT checked
-- with json_valid. Tables are STRICT so a wrongly typed bind fails loudly.

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    claims        TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(claims)),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- Emails are compared exactly (BINARY collation): callers normalise them.
CREATE UNIQUE INDEX users_email ON users (email);

-- Sessions reference users by id without a foreign key: the session store
-- is usable on its own, and a user's sessions are removed explicitly with
-- DeleteUserSessions.
CREATE TABLE sessions (
    id              TEXT    NOT NULL PRIMARY KEY,
    -- SHA-256 of the cookie secret; NULL for token grants, so that any
    -- number of them coexist under the unique index below.
    secret_hash     BLOB,
    kind            TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    client_id       TEXT    NOT NULL DEFAULT '',
    scope           TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    user_agent      TEXT    NOT NULL DEFAULT '',
    ip              TEXT    NOT NULL DEFAULT '',
    data            TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(data)),
    data_version    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE UNIQUE INDEX sessions_secret_hash ON sessions (secret_hash);
-- ListUserSessions and DeleteUserSessions; ordered for "oldest first".
CREATE INDEX sessions_user_id ON sessions (user_id, created_at);
-- DeleteExpiredSessions and CountSessions.
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_idle_expires_at ON sessions (idle_expires_at);
