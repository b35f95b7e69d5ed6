package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// sessionColumnNames are the sessions columns in the order scanSession
// reads them and sessionArgs binds them.
var sessionColumnNames = []string{"id", "secret_hash", "kind", "user_id", "client_id", "scope",
	"created_at", "last_seen_at", "idle_expires_at", "expires_at",
	"user_agent", "ip", "data", "data_version", "audiences",
	"auth_time", "auth_session_id"}

// sessionColumns is sessionColumnNames as a SQL column list.
var sessionColumns = strings.Join(sessionColumnNames, ", ")

// scanSession reads one row of sessionColumns.
func scanSession(r scanner) (store.Session, error) {
	var (
		s                                store.Session
		kind                             string
		data                             []byte
		created, lastSeen, idle, expires int64
		authTime                         *int64
	)
	err := r.Scan(&s.ID, &s.SecretHash, &kind, &s.UserID, &s.ClientID, &s.Scope,
		&created, &lastSeen, &idle, &expires,
		&s.UserAgent, &s.IP, &data, &s.DataVersion, &s.Audience,
		&authTime, &s.AuthSessionID)
	if err != nil {
		return store.Session{}, err
	}
	s.Kind = store.SessionKind(kind)
	s.CreatedAt = fromMillis(created)
	s.LastSeenAt = fromMillis(lastSeen)
	s.IdleExpiresAt = fromMillis(idle)
	s.ExpiresAt = fromMillis(expires)
	s.AuthTime = fromNullMillis(authTime)
	s.Data = json.RawMessage(data)
	return s, nil
}

// collectSessions reads every row of rows and returns them oldest first
// (ties by id), an empty slice if there are none.
func collectSessions(rows pgx.Rows) ([]store.Session, error) {
	ss, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Session, error) { return scanSession(r) })
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ss, func(a, b store.Session) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return ss, nil
}

// encodeData returns data as bound to the jsonb column: "{}" for nil,
// else data itself, which must pass store.ValidateSessionData.
func encodeData(data json.RawMessage) (string, error) {
	if data == nil {
		return "{}", nil
	}
	if err := store.ValidateSessionData(data); err != nil {
		return "", err
	}
	return string(data), nil
}

// nullableHash returns hash as bound: NULL when empty, so that records
// without a secret never collide in the unique index.
func nullableHash(hash []byte) []byte {
	if len(hash) == 0 {
		return nil
	}
	return hash
}

// sessionArgs returns the values of sessionColumnNames for ss, as
// CreateSession binds them and CreateSessions copies them. It fails if
// ss.Data is not valid JSON.
func sessionArgs(ss store.Session) ([]any, error) {
	data, err := encodeData(ss.Data)
	if err != nil {
		return nil, err
	}
	return []any{ss.ID, nullableHash(ss.SecretHash), string(ss.Kind), ss.UserID, ss.ClientID, ss.Scope,
		millis(ss.CreatedAt), millis(ss.LastSeenAt), millis(ss.IdleExpiresAt), millis(ss.ExpiresAt),
		ss.UserAgent, ss.IP, data, ss.DataVersion, list(ss.Audience),
		nullMillis(ss.AuthTime), ss.AuthSessionID}, nil
}

// CreateSession stores a new record. It returns store.ErrConflict if the id
// or the secret hash is taken; an empty SecretHash is stored as NULL and
// never conflicts. A nil Data is stored as "{}"; other Data must be valid
// JSON that jsonb accepts (not a string holding \u0000).
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	args, err := sessionArgs(ss)
	if err != nil {
		return fmt.Errorf("postgres: create session: %w", err)
	}
	_, err = s.pool.Exec(ctx,
		`INSERT INTO sessions (`+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15, $16, $17)`,
		args...)
	if err != nil {
		return wrapErr("create session", err)
	}
	return nil
}

// GetSession returns the record with the given public id, or
// store.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	ss, err := scanSession(s.pool.QueryRow(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if err != nil {
		return store.Session{}, wrapErr("get session", err)
	}
	return ss, nil
}

// GetSessionBySecretHash returns the record whose SecretHash is hash, or
// store.ErrNotFound; an empty hash matches nothing.
func (s *Store) GetSessionBySecretHash(ctx context.Context, hash []byte) (store.Session, error) {
	if len(hash) == 0 {
		return store.Session{}, fmt.Errorf("postgres: get session by secret hash: %w", store.ErrNotFound)
	}
	ss, err := scanSession(s.pool.QueryRow(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE secret_hash = $1`, hash))
	if err != nil {
		return store.Session{}, wrapErr("get session by secret hash", err)
	}
	return ss, nil
}

// ListUserSessions returns the user's records, oldest first; an empty,
// non-nil slice if there are none.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]store.Session, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, wrapErr("list user sessions", err)
	}
	ss, err := collectSessions(rows)
	if err != nil {
		return nil, wrapErr("list user sessions", err)
	}
	return ss, nil
}

// TouchSession sets the record's LastSeenAt and IdleExpiresAt, or returns
// store.ErrNotFound.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen, idleExpiresAt time.Time) error {
	tag, err := s.pool.Exec(ctx,
		`UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3`,
		millis(lastSeen), millis(idleExpiresAt), id)
	if err != nil {
		return wrapErr("touch session", err)
	}
	return checkAffected("touch session", tag)
}

// UpdateSessionData reads the record's data and version with SELECT … FOR
// UPDATE, calls update, and stores the returned data (nil as "{}";
// otherwise it must be valid JSON) with data_version raised by one in the
// same UPDATE, all in one transaction: concurrent updates of one record
// run one after another, each sees the previous one's data and version,
// and none is lost. update is called once. If it returns an error, nothing
// is written and that error is returned as is. A missing record returns
// store.ErrNotFound without calling update. update runs while the
// transaction holds the record's row lock: it must be quick and must not
// call the store.
func (s *Store) UpdateSessionData(ctx context.Context, id string, update func(data json.RawMessage, version int64) (json.RawMessage, error)) (store.Session, error) {
	var out store.Session
	err := s.inTx(ctx, "update session data", func(tx pgx.Tx) error {
		var (
			old     []byte
			version int64
		)
		err := tx.QueryRow(ctx,
			`SELECT data, data_version FROM sessions WHERE id = $1 FOR UPDATE`, id).Scan(&old, &version)
		if err != nil {
			return wrapErr("update session data", err)
		}
		next, err := update(json.RawMessage(old), version)
		if err != nil {
			return err
		}
		data, err := encodeData(next)
		if err != nil {
			return fmt.Errorf("postgres: update session data: %w", err)
		}
		out, err = scanSession(tx.QueryRow(ctx,
			`UPDATE sessions SET data = $1::jsonb, data_version = data_version + 1 WHERE id = $2
			RETURNING `+sessionColumns, data, id))
		if err != nil {
			return wrapErr("update session data", err)
		}
		return nil
	})
	if err != nil {
		return store.Session{}, err
	}
	return out, nil
}

// DeleteSession removes the record, or returns store.ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	if err != nil {
		return wrapErr("delete session", err)
	}
	return checkAffected("delete session", tag)
}

// DeleteSessions removes the records with the given ids, in one
// statement, and returns the ids it removed.
func (s *Store) DeleteSessions(ctx context.Context, ids []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `DELETE FROM sessions WHERE id = ANY($1) RETURNING id`, ids)
	if err != nil {
		return nil, wrapErr("delete sessions", err)
	}
	removed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrapErr("delete sessions", err)
	}
	return removed, nil
}

// DeleteUserSessions removes every record of the user except the one whose
// id is exceptID (which may be empty), in one statement, and returns the
// removed records, oldest first.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, exceptID string) ([]store.Session, error) {
	rows, err := s.pool.Query(ctx,
		`DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING `+sessionColumns,
		userID, exceptID)
	if err != nil {
		return nil, wrapErr("delete user sessions", err)
	}
	ss, err := collectSessions(rows)
	if err != nil {
		return nil, wrapErr("delete user sessions", err)
	}
	return ss, nil
}

// DeleteClientSessions removes every record whose client_id is clientID,
// in one statement, and returns the removed records, oldest first. The
// second condition (client_id not empty) makes an empty clientID match
// nothing and lets PostgreSQL use the partial index sessions_client_id.
func (s *Store) DeleteClientSessions(ctx context.Context, clientID string) ([]store.Session, error) {
	rows, err := s.pool.Query(ctx,
		`DELETE FROM sessions WHERE client_id = $1 AND client_id <> '' RETURNING `+sessionColumns,
		clientID)
	if err != nil {
		return nil, wrapErr("delete client sessions", err)
	}
	ss, err := collectSessions(rows)
	if err != nil {
		return nil, wrapErr("delete client sessions", err)
	}
	return ss, nil
}

// ListClientSessions returns every record whose ClientID is clientID,
// oldest first.
func (s *Store) ListClientSessions(ctx context.Context, clientID string) ([]store.Session, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE client_id = $1 AND client_id <> '' ORDER BY created_at, id`,
		clientID)
	if err != nil {
		return nil, wrapErr("list client sessions", err)
	}
	ss, err := collectSessions(rows)
	if err != nil {
		return nil, wrapErr("list client sessions", err)
	}
	return ss, nil
}

// DeleteExpiredSessions removes every record whose idle or absolute expiry
// is at or before now, and returns how many it removed.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx,
		`DELETE FROM sessions WHERE expires_at <= $1 OR idle_expires_at <= $1`, millis(now))
	if err != nil {
		return 0, wrapErr("delete expired sessions", err)
	}
	return affected(tag), nil
}

// CountSessions returns how many records are not expired at now.
func (s *Store) CountSessions(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx,
		`SELECT count(*) FROM sessions WHERE expires_at > $1 AND idle_expires_at > $1`, millis(now)).Scan(&n)
	if err != nil {
		return 0, wrapErr("count sessions", err)
	}
	return n, nil
}
