package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// sessionColumns lists the sessions columns in the order scanSession reads
// them.
const sessionColumns = `id, secret_hash, kind, user_id, client_id, scope,
	created_at, last_seen_at, idle_expires_at, expires_at,
	user_agent, ip, data, data_version, audiences,
	auth_time, auth_session_id`

// scanSession reads one row of sessionColumns.
func (st *Store) scanSession(r scanner) (store.Session, error) {
	var (
		s                                store.Session
		kind, data                       string
		created, lastSeen, idle, expires int64
		authTime                         sql.NullInt64
	)
	err := r.Scan(&s.ID, &s.SecretHash, &kind, &s.UserID, &s.ClientID, &s.Scope,
		&created, &lastSeen, &idle, &expires,
		&s.UserAgent, &s.IP, &data, &s.DataVersion, st.f.listDest(&s.Audience),
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

// scanSessions reads every row of rows, oldest first (ties by id), and
// closes rows.
func (s *Store) scanSessions(rows rows) ([]store.Session, error) {
	ss, err := collect(rows, s.scanSession)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ss, func(a, b store.Session) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return ss, nil
}

// encodeData returns data as stored: "{}" for nil, else data itself, which
// must pass store.ValidateSessionData.
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
func nullableHash(hash []byte) any {
	if len(hash) == 0 {
		return nil
	}
	return hash
}

// insertSession is the statement that stores a new record, with the
// arguments of sessionArgs.
const insertSession = `INSERT INTO sessions (` + sessionColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// sessionColumnNames are the columns of sessionColumns, for COPY.
var sessionColumnNames = strings.Fields(strings.ReplaceAll(sessionColumns, ",", " "))

// sessionArgs returns the arguments of insertSession for ss. It fails if
// ss.Data is not valid JSON (on PostgreSQL, JSON that jsonb accepts: not a
// string holding \u0000) or ss.Audience cannot be encoded.
func (s *Store) sessionArgs(ss store.Session) ([]any, error) {
	data, err := encodeData(ss.Data)
	if err != nil {
		return nil, err
	}
	aud, err := s.f.listArg(ss.Audience)
	if err != nil {
		return nil, err
	}
	return []any{ss.ID, nullableHash(ss.SecretHash), string(ss.Kind), ss.UserID, ss.ClientID, ss.Scope,
		millis(ss.CreatedAt), millis(ss.LastSeenAt), millis(ss.IdleExpiresAt), millis(ss.ExpiresAt),
		ss.UserAgent, ss.IP, data, ss.DataVersion, aud,
		nullMillis(ss.AuthTime), ss.AuthSessionID}, nil
}

// CreateSession stores a new record. It returns store.ErrConflict if the id
// or the secret hash is taken; an empty SecretHash is stored as NULL and
// never conflicts. A nil Data is stored as "{}"; other Data must be valid
// JSON.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	args, err := s.sessionArgs(ss)
	if err != nil {
		return s.errorf("create session", err)
	}
	_, err = s.db.ExecContext(ctx, insertSession, args...)
	if err != nil {
		return s.wrapErr("create session", err)
	}
	return nil
}

// GetSession returns the record with the given public id, or
// store.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	ss, err := s.scanSession(s.db.QueryRowContext(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id))
	if err != nil {
		return store.Session{}, s.wrapErr("get session", err)
	}
	return ss, nil
}

// GetSessionBySecretHash returns the record whose SecretHash is hash, or
// store.ErrNotFound; an empty hash matches nothing.
func (s *Store) GetSessionBySecretHash(ctx context.Context, hash []byte) (store.Session, error) {
	if len(hash) == 0 {
		return store.Session{}, s.errorf("get session by secret hash", store.ErrNotFound)
	}
	ss, err := s.scanSession(s.db.QueryRowContext(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE secret_hash = ?`, hash))
	if err != nil {
		return store.Session{}, s.wrapErr("get session by secret hash", err)
	}
	return ss, nil
}

// ListUserSessions returns the user's records, oldest first; an empty,
// non-nil slice if there are none.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]store.Session, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, s.wrapErr("list user sessions", err)
	}
	ss, err := s.scanSessions(rows)
	if err != nil {
		return nil, s.wrapErr("list user sessions", err)
	}
	return ss, nil
}

// TouchSession sets the record's LastSeenAt and IdleExpiresAt, or returns
// store.ErrNotFound.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen, idleExpiresAt time.Time) error {
	res, err := s.db.ExecContext(ctx,
		`UPDATE sessions SET last_seen_at = ?, idle_expires_at = ? WHERE id = ?`,
		millis(lastSeen), millis(idleExpiresAt), id)
	return s.checkAffected("touch session", res, err)
}

// UpdateSessionData reads the record's data and version, calls update, and
// stores the returned data (nil as "{}"; otherwise it must be valid JSON)
// with data_version raised by one in the same UPDATE, all in one
// transaction, so concurrent updates of one record run one after another,
// each sees the previous one's data and version, and none is lost: on
// SQLite the IMMEDIATE transaction holds the database's write lock, on
// PostgreSQL SELECT … FOR UPDATE holds the record's row lock. update is
// called once. If it returns an error, nothing is written and that error
// is returned as is. A missing record returns store.ErrNotFound without
// calling update. update runs while the lock is held: it must be quick and
// must not call the store.
func (s *Store) UpdateSessionData(ctx context.Context, id string, update func(data json.RawMessage, version int64) (json.RawMessage, error)) (store.Session, error) {
	const op = "update session data"
	var out store.Session
	err := s.inTx(ctx, op, func(tx db) error {
		var (
			old     string
			version int64
		)
		err := tx.QueryRowContext(ctx,
			`SELECT data, data_version FROM sessions WHERE id = ?`+s.f.forUpdate, id).Scan(&old, &version)
		if err != nil {
			return s.wrapErr(op, err)
		}
		next, err := update(json.RawMessage(old), version)
		if err != nil {
			return err
		}
		data, err := encodeData(next)
		if err != nil {
			return s.errorf(op, err)
		}
		out, err = s.scanSession(tx.QueryRowContext(ctx,
			`UPDATE sessions SET data = ?, data_version = data_version + 1 WHERE id = ?
			RETURNING `+sessionColumns, data, id))
		if err != nil {
			return s.wrapErr(op, err)
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
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id)
	return s.checkAffected("delete session", res, err)
}

// DeleteSessions removes the records with the given ids, in statements
// of at most 500 ids, and returns the ids it removed.
func (s *Store) DeleteSessions(ctx context.Context, ids []string) ([]string, error) {
	removed := []string{}
	for chunk := range slices.Chunk(ids, 500) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		marks := strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")
		rows, err := s.db.QueryContext(ctx, `DELETE FROM sessions WHERE id IN (`+marks+`) RETURNING id`, args...)
		if err != nil {
			return removed, s.wrapErr("delete sessions", err)
		}
		got, err := collect(rows, func(r scanner) (id string, err error) { return id, r.Scan(&id) })
		if err != nil {
			return removed, s.wrapErr("delete sessions", err)
		}
		removed = append(removed, got...)
	}
	return removed, nil
}

// DeleteUserSessions removes every record of the user except the one whose
// id is exceptID (which may be empty), in one statement, and returns the
// removed records, oldest first.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, exceptID string) ([]store.Session, error) {
	rows, err := s.db.QueryContext(ctx,
		`DELETE FROM sessions WHERE user_id = ? AND id <> ? RETURNING `+sessionColumns,
		userID, exceptID)
	if err != nil {
		return nil, s.wrapErr("delete user sessions", err)
	}
	ss, err := s.scanSessions(rows)
	if err != nil {
		return nil, s.wrapErr("delete user sessions", err)
	}
	return ss, nil
}

// DeleteClientSessions removes every record whose client_id is clientID,
// in one statement, and returns the removed records, oldest first. The
// second condition (client_id not empty) makes an empty clientID match
// nothing and lets the database use the partial index sessions_client_id.
func (s *Store) DeleteClientSessions(ctx context.Context, clientID string) ([]store.Session, error) {
	rows, err := s.db.QueryContext(ctx,
		`DELETE FROM sessions WHERE client_id = ? AND client_id <> '' RETURNING `+sessionColumns,
		clientID)
	if err != nil {
		return nil, s.wrapErr("delete client sessions", err)
	}
	ss, err := s.scanSessions(rows)
	if err != nil {
		return nil, s.wrapErr("delete client sessions", err)
	}
	return ss, nil
}

// ListClientSessions returns every record whose ClientID is clientID,
// oldest first.
func (s *Store) ListClientSessions(ctx context.Context, clientID string) ([]store.Session, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE client_id = ? AND client_id <> '' ORDER BY created_at, id`,
		clientID)
	if err != nil {
		return nil, s.wrapErr("list client sessions", err)
	}
	ss, err := s.scanSessions(rows)
	if err != nil {
		return nil, s.wrapErr("list client sessions", err)
	}
	return ss, nil
}

// DeleteExpiredSessions removes every record whose idle or absolute expiry
// is at or before now, and returns how many it removed.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	ms := millis(now)
	res, err := s.db.ExecContext(ctx,
		`DELETE FROM sessions WHERE expires_at <= ? OR idle_expires_at <= ?`, ms, ms)
	return s.affected("delete expired sessions", res, err)
}

// DeleteExpiredSessionsWithEvents implements store.SessionEventStore with
// one DELETE … RETURNING and the events' inserts in one transaction.
func (s *Store) DeleteExpiredSessionsWithEvents(ctx context.Context, now time.Time, event func(store.Session) audit.Event) ([]audit.Event, error) {
	const op = "delete expired sessions"
	ms := millis(now)
	var out []audit.Event
	err := s.inTx(ctx, op, func(tx db) error {
		rows, err := tx.QueryContext(ctx,
			`DELETE FROM sessions WHERE expires_at <= ? OR idle_expires_at <= ? RETURNING `+sessionColumns, ms, ms)
		if err != nil {
			return s.wrapErr(op, err)
		}
		gone, err := s.scanSessions(rows)
		if err != nil {
			return s.wrapErr(op, err)
		}
		out = make([]audit.Event, len(gone))
		for i, g := range gone {
			out[i] = event(g)
		}
		seqs, err := s.appendEvents(ctx, tx, out)
		if err != nil {
			return err
		}
		for i := range out {
			out[i].Seq = seqs[i]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CountSessions returns how many records are not expired at now.
func (s *Store) CountSessions(ctx context.Context, now time.Time) (int, error) {
	ms := millis(now)
	var n int
	err := s.db.QueryRowContext(ctx,
		`SELECT count(*) FROM sessions WHERE expires_at > ? AND idle_expires_at > ?`, ms, ms).Scan(&n)
	if err != nil {
		return 0, s.wrapErr("count sessions", err)
	}
	return n, nil
}
