-- A database made by Gatehouse before internal/store/sqlstore (its
-- internal/store/sqlite package, schema version 6), dumped. See
-- TestOpenTodaysDatabase.
CREATE TABLE schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL -- unix milliseconds
	) STRICT;
CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    claims        TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(claims)),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
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
, audiences TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(audiences)), auth_time INTEGER, auth_session_id TEXT NOT NULL DEFAULT '') STRICT;
CREATE TABLE signing_keys (
    id                 TEXT    NOT NULL PRIMARY KEY,
    algorithm          TEXT    NOT NULL,
    sealed_private_key BLOB    NOT NULL,
    public_jwk         BLOB    NOT NULL,
    created_at         INTEGER NOT NULL,
    retired_at         INTEGER, -- NULL while the key is current
    expires_at         INTEGER  -- NULL while the key is current
) STRICT;
CREATE TABLE refresh_tokens (
    hash             BLOB    NOT NULL PRIMARY KEY, -- SHA-256 of the token
    session_id       TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    rotated_at       INTEGER, -- NULL while the token is current
    sealed_successor BLOB,    -- set together with rotated_at
    CHECK ((rotated_at IS NULL) = (sealed_successor IS NULL))
) STRICT;
CREATE TABLE revocations (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT    NOT NULL DEFAULT '',
    user_id    TEXT    NOT NULL DEFAULT '',
    token_id   TEXT    NOT NULL DEFAULT '',
    at         INTEGER NOT NULL,
    expires    INTEGER NOT NULL,
    CHECK ((session_id <> '') + (user_id <> '') + (token_id <> '') = 1)
) STRICT;
CREATE TABLE clients (
    id                         TEXT    NOT NULL PRIMARY KEY,
    -- SHA-256 of the client secret; empty for public clients. The secret
    -- itself is never stored.
    secret_hash                BLOB    NOT NULL,
    name                       TEXT    NOT NULL DEFAULT '',
    grant_types                TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(grant_types)),
    redirect_uris              TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(redirect_uris)),
    scopes                     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(scopes)),
    audiences                  TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(audiences)),
    token_endpoint_auth_method TEXT    NOT NULL,
    first_party                INTEGER NOT NULL DEFAULT 0 CHECK (first_party IN (0, 1)),
    created_at                 INTEGER NOT NULL
, post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(post_logout_redirect_uris)), id_token_signed_response_alg TEXT NOT NULL DEFAULT '') STRICT;
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
CREATE TABLE consents (
    user_id    TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    scopes     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(scopes)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE job_leases (
    name       TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_email ON users (email);
CREATE UNIQUE INDEX sessions_secret_hash ON sessions (secret_hash);
CREATE INDEX sessions_user_id ON sessions (user_id, created_at);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_idle_expires_at ON sessions (idle_expires_at);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);
CREATE INDEX revocations_expires ON revocations (expires);
CREATE INDEX clients_created_at ON clients (created_at, id);
CREATE INDEX sessions_client_id ON sessions (client_id, created_at) WHERE client_id <> '';
CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);
INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'users_sessions', 1796539115381);
INSERT INTO schema_migrations (version, name, applied_at) VALUES (2, 'keys_refresh_revocations', 1796539115385);
INSERT INTO schema_migrations (version, name, applied_at) VALUES (3, 'clients', 1796539115386);
INSERT INTO schema_migrations (version, name, applied_at) VALUES (4, 'oauth_codes_consents', 1796539115392);
INSERT INTO schema_migrations (version, name, applied_at) VALUES (5, 'job_leases', 1796539115394);
INSERT INTO schema_migrations (version, name, applied_at) VALUES (6, 'grant_auth_time', 1796539115395);
INSERT INTO users (id, email, password_hash, claims, disabled, created_at, updated_at) VALUES ('3d767426c4cc7acbcf7a0f107822c370', 'alice@example.com', '$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2g', '{"groups":["a","b"],"n":1.5,"name":"Alice"}', 0, 1795888118970, 1795888178970);
INSERT INTO sessions (id, secret_hash, kind, user_id, client_id, scope, created_at, last_seen_at, idle_expires_at, expires_at, user_agent, ip, data, data_version, audiences, auth_time, auth_session_id) VALUES ('s-cookie', X'0101010101010101010101010101010101010101010101010101010101010101', 'cookie', '3d767426c4cc7acbcf7a0f107822c370', '', '', 1795888118970, 1795888178970, 1795974518970, 1798480118970, 'Mozilla/5.0', '192.0.2.1', '{"theme":"dark"}', 3, '[]', 1795888118970, '');
INSERT INTO sessions (id, secret_hash, kind, user_id, client_id, scope, created_at, last_seen_at, idle_expires_at, expires_at, user_agent, ip, data, data_version, audiences, auth_time, auth_session_id) VALUES ('g-token', NULL, 'token', '3d767426c4cc7acbcf7a0f107822c370', 'c-fixture', 'openid offline_access', 1795888118970, 1795888118970, 1795974518970, 1798480118970, '', '', '{}', 0, '["https://api.example.com","b,c \"d\""]', 1795888117970, 's-cookie');
INSERT INTO signing_keys (id, algorithm, sealed_private_key, public_jwk, created_at, retired_at, expires_at) VALUES ('k-retired', 'EdDSA', X'0303030303030303030303030303030303030303030303030303030303030303', X'7B226B7479223A224F4B50222C22637276223A2245643235353139222C2278223A2242424242227D', 1795884518970, 1795888118970, 1795891718970);
INSERT INTO signing_keys (id, algorithm, sealed_private_key, public_jwk, created_at, retired_at, expires_at) VALUES ('k-current', 'EdDSA', X'0202020202020202020202020202020202020202020202020202020202020202', X'7B226B7479223A224F4B50222C22637276223A2245643235353139222C2278223A2241414141227D', 1795888118970, NULL, NULL);
INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at, rotated_at, sealed_successor) VALUES (X'0404040404040404040404040404040404040404040404040404040404040404', 'g-token', 1795888118970, 1795891718970, 1795888178970, X'0606060606060606060606060606060606060606060606060606060606060606');
INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at, rotated_at, sealed_successor) VALUES (X'0505050505050505050505050505050505050505050505050505050505050505', 'g-token', 1795888178970, 1795895318970, NULL, NULL);
INSERT INTO revocations (seq, session_id, user_id, token_id, at, expires) VALUES (1, 's-gone', '', '', 1795888118970, 1795891718970);
INSERT INTO clients (id, secret_hash, name, grant_types, redirect_uris, scopes, audiences, token_endpoint_auth_method, first_party, created_at, post_logout_redirect_uris, id_token_signed_response_alg) VALUES ('c-fixture', X'0707070707070707070707070707070707070707070707070707070707070707', 'Fixture app', '["authorization_code","refresh_token"]', '["https://app.example.com/cb?x=1,2","https://app.example.com/\"q\""]', '["openid","offline_access"]', '[]', 'client_secret_basic', 1, 1795888118970, '["https://app.example.com/bye"]', 'EdDSA');
INSERT INTO auth_codes (hash, client_id, user_id, session_id, redirect_uri, code_challenge, code_challenge_method, scope, audiences, nonce, auth_time, created_at, expires_at, used_at, grant_id) VALUES (X'0808080808080808080808080808080808080808080808080808080808080808', 'c-fixture', '3d767426c4cc7acbcf7a0f107822c370', 's-cookie', 'https://app.example.com/cb?x=1,2', 'abc', 'S256', 'openid', '["https://api.example.com"]', 'n-1', 1795888118970, 1795888118970, 1795888178970, NULL, '');
INSERT INTO consents (user_id, client_id, scopes, created_at, updated_at) VALUES ('3d767426c4cc7acbcf7a0f107822c370', 'c-fixture', '["openid","offline_access"]', 1795888118970, 1795888118970);
INSERT INTO job_leases (name, holder, expires_at) VALUES ('sweep', 'instance-1', 1795891718970);
INSERT INTO sqlite_sequence (name, seq) VALUES ('revocations', 1);
