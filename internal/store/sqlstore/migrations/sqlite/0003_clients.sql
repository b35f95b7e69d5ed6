-- OAuth clients (package store: Client), and an index for revoking a
-- client's grants (SessionStore.DeleteClientSessions).
--
-- Times are INTEGER unix milliseconds, UTC. List fields are TEXT holding
-- a JSON array of strings, in the order registered.

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
) STRICT;

-- ListClients, oldest first.
CREATE INDEX clients_created_at ON clients (created_at, id);

-- DeleteClientSessions. First-party records (client_id '') are most of
-- the table and never looked up by client, so they stay out of the index.
CREATE INDEX sessions_client_id ON sessions (client_id, created_at) WHERE client_id <> '';
