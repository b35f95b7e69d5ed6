-- The account lifecycle (issue #13): whether a user's address is
-- verified, and the one-time tokens of the links mailed to users
-- (package store: User.EmailVerified, OneTimeToken).
--
-- Mirrors the SQLite schema of the same version. Times are bigint unix
-- milliseconds, UTC; used_at is NULL while the token is unused. Only the
-- SHA-256 of a token's secret is stored.

ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;

CREATE TABLE one_time_tokens (
    hash       bytea              NOT NULL PRIMARY KEY,
    purpose    text   COLLATE "C" NOT NULL,
    user_id    text   COLLATE "C" NOT NULL,
    email      text   COLLATE "C" NOT NULL,
    created_at bigint             NOT NULL,
    expires_at bigint             NOT NULL,
    used_at    bigint
);

-- A new token supersedes the user's unused ones of its purpose.
CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id, purpose);
-- DeleteExpiredOneTimeTokens.
CREATE INDEX one_time_tokens_expires_at ON one_time_tokens (expires_at);
