-- OAuth clients (package store: Client), and an index for revoking a
-- client's grants (SessionStore.DeleteClientSessions).
--
-- Mirrors the SQLite schema of the same version. Times are bigint unix
-- milliseconds, UTC. List fields are text[] (SQLite: a JSON array in
-- TEXT), in the order registered.

CREATE TABLE clients (
    id                         text    COLLATE "C" NOT NULL PRIMARY KEY,
    -- SHA-256 of the client secret; empty for public clients. The secret
    -- itself is never stored.
    secret_hash                bytea   NOT NULL,
    name                       text    NOT NULL DEFAULT '',
    grant_types                text[]  NOT NULL DEFAULT '{}',
    redirect_uris              text[]  NOT NULL DEFAULT '{}',
    scopes                     text[]  NOT NULL DEFAULT '{}',
    audiences                  text[]  NOT NULL DEFAULT '{}',
    token_endpoint_auth_method text    NOT NULL,
    first_party                boolean NOT NULL DEFAULT false,
    created_at                 bigint  NOT NULL
);

-- ListClients, oldest first.
CREATE INDEX clients_created_at ON clients (created_at, id);

-- DeleteClientSessions. First-party records (client_id '') are most of
-- the table and never looked up by client, so they stay out of the index.
CREATE INDEX sessions_client_id ON sessions (client_id, created_at) WHERE client_id <> '';
