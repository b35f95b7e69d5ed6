-- What a grant of the authorization code flow needs to issue ID tokens
-- again on refresh (OpenID Connect Core section 12.2): when the user
-- authenticated, and in which browser session (package store:
-- Session.AuthTime, Session.AuthSessionID).
--
-- Mirrors the SQLite schema of the same version. auth_time is bigint unix
-- milliseconds, UTC, or NULL when unknown: every other record, and grants
-- created before this version.

ALTER TABLE sessions ADD COLUMN auth_time bigint;
ALTER TABLE sessions ADD COLUMN auth_session_id text COLLATE "C" NOT NULL DEFAULT '';
