-- The account lifecycle (issue #13): whether a user's address is
-- verified, and the one-time tokens of the links mailed to users
-- (package store: User.EmailVerified, OneTimeToken).
--
-- Times are INTEGER unix milliseconds, UTC; used_at is NULL while the
-- token is unused. Only the SHA-256 of a token's secret is stored.

ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1));

CREATE TABLE one_time_tokens (
    hash       BLOB    NOT NULL PRIMARY KEY,
    purpose    TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;

-- A new token supersedes the user's unused ones of its purpose.
CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id, purpose);
-- DeleteExpiredOneTimeTokens.
CREATE INDEX one_time_tokens_expires_at ON one_time_tokens (expires_at);
