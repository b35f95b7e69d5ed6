-- Second factors and passkeys (issue #14; package store: TOTPFactor,
-- RecoveryCode, PasskeyCredential, Ceremony).
--
-- Times are INTEGER unix milliseconds, UTC; nullable ones are NULL while
-- unset. List fields are TEXT holding a JSON array of strings. Like
-- consents, these rows are removed by DeleteUser, not by foreign keys.

CREATE TABLE totp_factors (
    -- At most one factor per user.
    user_id        TEXT    NOT NULL PRIMARY KEY,
    id             TEXT    NOT NULL,
    -- The secret sealed under the KEK (totp.SealSecret), never in clear.
    sealed_secret  BLOB    NOT NULL,
    confirmed      INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
    -- RFC 6238 step of the last accepted code; AdvanceTOTPStep moves it
    -- forward with one conditional UPDATE.
    last_used_step INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    confirmed_at   INTEGER
) STRICT, WITHOUT ROWID;

CREATE TABLE recovery_codes (
    user_id  TEXT    NOT NULL,
    -- Order of the set as given (ListRecoveryCodes).
    position INTEGER NOT NULL,
    -- Keyed hash of the code (recoverycode.Hasher).
    hash     BLOB    NOT NULL,
    used_at  INTEGER,
    PRIMARY KEY (user_id, position),
    UNIQUE (user_id, hash)
) STRICT, WITHOUT ROWID;

CREATE TABLE passkeys (
    -- Insertion order (the rowid), which breaks ties of created_at in
    -- ListPasskeys.
    seq              INTEGER PRIMARY KEY,
    -- The credential id, unique across users.
    id               BLOB    NOT NULL UNIQUE,
    user_id          TEXT    NOT NULL,
    name             TEXT    NOT NULL DEFAULT '',
    public_key       BLOB    NOT NULL,
    attestation_type TEXT    NOT NULL DEFAULT '',
    aaguid           BLOB    NOT NULL,
    sign_count       INTEGER NOT NULL DEFAULT 0,
    transports       TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(transports)),
    user_verified    INTEGER NOT NULL DEFAULT 0 CHECK (user_verified IN (0, 1)),
    backup_eligible  INTEGER NOT NULL DEFAULT 0 CHECK (backup_eligible IN (0, 1)),
    backup_state     INTEGER NOT NULL DEFAULT 0 CHECK (backup_state IN (0, 1)),
    created_at       INTEGER NOT NULL,
    last_used_at     INTEGER
) STRICT;

-- ListPasskeys.
CREATE INDEX passkeys_user ON passkeys (user_id, created_at, seq);

CREATE TABLE webauthn_ceremonies (
    -- base64url SHA-256 of the challenge.
    id         TEXT    NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    user_id    TEXT    NOT NULL DEFAULT '',
    data       BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- DeleteExpiredCeremonies.
CREATE INDEX webauthn_ceremonies_expires_at ON webauthn_ceremonies (expires_at);
