-- The authorization code flow: authorization codes (package store:
-- AuthCode), consents (Consent), a grant's audience (Session.Audience)
-- and the OpenID Connect client metadata (Client.PostLogoutRedirectURIs,
-- Client.IDTokenSignedResponseAlg).
--
-- Times are INTEGER unix milliseconds, UTC. List fields are TEXT holding
-- a JSON array of strings, in the order written.

ALTER TABLE sessions ADD COLUMN audiences TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(audiences));

ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(post_logout_redirect_uris));
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT '';

CREATE TABLE auth_codes (
    -- SHA-256 of the code; the code itself is never stored.
    hash                  BLOB    NOT NULL PRIMARY KEY,
    client_id             TEXT    NOT NULL,
    user_id               TEXT    NOT NULL,
    session_id            TEXT    NOT NULL DEFAULT '',
    redirect_uri          TEXT    NOT NULL,
    code_challenge        TEXT    NOT NULL DEFAULT '',
    code_challenge_method TEXT    NOT NULL DEFAULT '',
    scope                 TEXT    NOT NULL DEFAULT '',
    audiences             TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(audiences)),
    nonce                 TEXT    NOT NULL DEFAULT '',
    auth_time             INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    -- NULL while unused; redemption sets it with one conditional UPDATE.
    used_at               INTEGER,
    grant_id              TEXT    NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;

-- DeleteExpiredAuthCodes.
CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);

CREATE TABLE consents (
    user_id    TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    scopes     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(scopes)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT, WITHOUT ROWID;
