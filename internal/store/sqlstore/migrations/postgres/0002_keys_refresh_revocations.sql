-- Signing keys, refresh tokens and the revocation log (package store:
-- SigningKey, RefreshToken, Revocation).
--
-- Mirrors the SQLite schema of the same version. Times are bigint unix
-- milliseconds, UTC; a time that is zero until something happens (a key's
-- retirement, a token's rotation) is NULL until then. Secrets, hashes and
-- sealed values are bytea, compared and returned byte for byte.

-- A handful of rows (a few per algorithm), read whole: no index beyond the
-- primary key.
CREATE TABLE signing_keys (
    id                 text   COLLATE "C" NOT NULL PRIMARY KEY,
    algorithm          text   NOT NULL,
    sealed_private_key bytea  NOT NULL,
    public_jwk         bytea  NOT NULL,
    created_at         bigint NOT NULL,
    retired_at         bigint, -- NULL while the key is current
    expires_at         bigint  -- NULL while the key is current
);

-- Refresh tokens reference their grant (a session record) by id without a
-- foreign key: session records may live in another backend (Redis) while
-- refresh tokens stay here, and a grant's tokens are removed explicitly
-- with DeleteSessionRefreshTokens.
CREATE TABLE refresh_tokens (
    hash             bytea  NOT NULL PRIMARY KEY, -- SHA-256 of the token
    session_id       text   COLLATE "C" NOT NULL,
    created_at       bigint NOT NULL,
    expires_at       bigint NOT NULL,
    rotated_at       bigint, -- NULL while the token is current
    sealed_successor bytea,  -- set together with rotated_at
    CHECK ((rotated_at IS NULL) = (sealed_successor IS NULL))
);

-- DeleteSessionRefreshTokens.
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
-- DeleteExpiredRefreshTokens.
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- The revocation log. seq comes from an identity sequence, which never
-- hands out a number twice, so a reader whose cursor is the seq of an
-- event since pruned still sees every later event. A sequence does not
-- order commits, though: AppendRevocations locks this table (EXCLUSIVE
-- mode, which readers do not wait for) so that appends commit one at a
-- time, in seq order, and a reader polling "seq > cursor" never sees a
-- later event before an earlier one. Exactly one of the three ids is
-- set; the others are ''.
CREATE TABLE revocations (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id text   NOT NULL DEFAULT '',
    user_id    text   NOT NULL DEFAULT '',
    token_id   text   NOT NULL DEFAULT '',
    at         bigint NOT NULL,
    expires    bigint NOT NULL,
    CHECK ((session_id <> '')::int + (user_id <> '')::int + (token_id <> '')::int = 1)
);

-- DeleteExpiredRevocations. ListRevocations walks the primary key from
-- the cursor and filters on expires as it goes.
CREATE INDEX revocations_expires ON revocations (expires);
