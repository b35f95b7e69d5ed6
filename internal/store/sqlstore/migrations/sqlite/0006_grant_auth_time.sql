-- What a grant of the authorization code flow needs to issue ID tokens
-- again on refresh (OpenID Connect Core section 12.2): when the user
-- authenticated, and in which browser session (package store:
-- Session.AuthTime, Session.AuthSessionID).
--
-- auth_time is INTEGER unix milliseconds, UTC, or NULL when unknown:
-- every other record, and grants created before this version.

ALTER TABLE sessions ADD COLUMN auth_time INTEGER;
ALTER TABLE sessions ADD COLUMN auth_session_id TEXT NOT NULL DEFAULT '';
