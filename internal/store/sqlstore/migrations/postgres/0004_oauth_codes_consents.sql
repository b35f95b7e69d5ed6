-- The authorization code flow: authorization codes (package store:
-- AuthCode), consents (Consent), a grant's audience (Session.Audience)
-- and the OpenID Connect client metadata (Client.PostLogoutRedirectURIs,
-- Client.IDTokenSignedResponseAlg).
--
-- Mirrors the SQLite schema of the same version. Times are bigint unix
-- milliseconds, UTC. List fields are text[] (SQLite: a JSON array in
-- TEXT), in the order written.

ALTER TABLE sessions ADD COLUMN audiences text[] NOT NULL DEFAULT '{}';

ALTER TABLE clients ADD COLUMN post_logout_redirect_uris text[] NOT NULL DEFAULT '{}';
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg text NOT NULL DEFAULT '';

CREATE TABLE auth_codes (
    -- SHA-256 of the code; the code itself is never stored.
    hash                  bytea  NOT NULL PRIMARY KEY,
    client_id             text   COLLATE "C" NOT NULL,
    user_id               text   COLLATE "C" NOT NULL,
    session_id            text   COLLATE "C" NOT NULL DEFAULT '',
    redirect_uri          text   NOT NULL,
    code_challenge        text   NOT NULL DEFAULT '',
    code_challenge_method text   NOT NULL DEFAULT '',
    scope                 text   NOT NULL DEFAULT '',
    audiences             text[] NOT NULL DEFAULT '{}',
    nonce                 text   NOT NULL DEFAULT '',
    auth_time             bigint NOT NULL,
    created_at            bigint NOT NULL,
    expires_at            bigint NOT NULL,
    -- NULL while unused; redemption sets it with one conditional UPDATE.
    used_at               bigint,
    grant_id              text   COLLATE "C" NOT NULL DEFAULT ''
);

-- DeleteExpiredAuthCodes.
CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);

CREATE TABLE consents (
    user_id    text   COLLATE "C" NOT NULL,
    client_id  text   COLLATE "C" NOT NULL,
    scopes     text[] NOT NULL DEFAULT '{}',
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
