-- Signing keys, refresh tokens and the revocation log (package store:
-- SigningKey, RefreshToken, Revocation).
--
-- Times are INTEGER unix milliseconds, UTC; a time that is zero until
-- something happens (a key's retirement, a token's rotation) is NULL until
-- then. Secrets, hashes and sealed values are BLOBs, compared and returned
-- byte for byte.

-- A handful of rows (a few per algorithm), read whole: no index beyond the
-- primary key.
CREATE TABLE signing_keys (
    id                 TEXT    NOT NULL PRIMARY KEY,
    algorithm          TEXT    NOT NULL,
    sealed_private_key BLOB    NOT NULL,
    public_jwk         BLOB    NOT NULL,
    created_at         INTEGER NOT NULL,
    retired_at         INTEGER, -- NULL while the key is current
    expires_at         INTEGER  -- NULL while the key is current
) STRICT;

-- Refresh tokens reference their grant (a session record) by id without a
-- foreign key: session records may live in another backend (Redis) while
-- refresh tokens stay here, and a grant's tokens are removed explicitly
-- with DeleteSessionRefreshTokens.
CREATE TABLE refresh_tokens (
    hash             BLOB    NOT NULL PRIMARY KEY, -- SHA-256 of the token
    session_id       TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    rotated_at       INTEGER, -- NULL while the token is current
    sealed_successor BLOB,    -- set together with rotated_at
    CHECK ((rotated_at IS NULL) = (sealed_successor IS NULL))
) STRICT;

-- DeleteSessionRefreshTokens.
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
-- DeleteExpiredRefreshTokens.
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- The revocation log. AUTOINCREMENT, unlike a plain INTEGER PRIMARY KEY,
-- never reuses the seq of a deleted row, so a reader whose cursor is the
-- seq of an event since pruned still sees every later event. Exactly one of
-- the three ids is set; the others are ''.
CREATE TABLE revocations (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT    NOT NULL DEFAULT '',
    user_id    TEXT    NOT NULL DEFAULT '',
    token_id   TEXT    NOT NULL DEFAULT '',
    at         INTEGER NOT NULL,
    expires    INTEGER NOT NULL,
    CHECK ((session_id <> '') + (user_id <> '') + (token_id <> '') = 1)
) STRICT;

-- DeleteExpiredRevocations. ListRevocations walks the primary key from
-- the cursor and filters on expires as it goes.
CREATE INDEX revocations_expires ON revocations (expires);
