package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// keyColumns lists the signing_keys columns in the order scanKey reads
// them.
const keyColumns = `id, algorithm, sealed_private_key, public_jwk, created_at, retired_at, expires_at`

// scanKey reads one row of keyColumns.
func scanKey(r scanner) (store.SigningKey, error) {
	var (
		k                store.SigningKey
		created          int64
		retired, expires sql.NullInt64
	)
	if err := r.Scan(&k.ID, &k.Algorithm, &k.SealedPrivateKey, &k.PublicJWK, &created, &retired, &expires); err != nil {
		return store.SigningKey{}, err
	}
	k.CreatedAt = fromMillis(created)
	k.RetiredAt = fromNullMillis(retired)
	k.ExpiresAt = fromNullMillis(expires)
	return k, nil
}

// insertKey is the statement that stores a key, bound by keyArgs.
const insertKey = `INSERT INTO signing_keys (` + keyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?)`

// keyArgs returns the arguments of insertKey for k.
func keyArgs(k store.SigningKey) []any {
	return []any{k.ID, k.Algorithm, blob(k.SealedPrivateKey), blob(k.PublicJWK),
		millis(k.CreatedAt), nullMillis(k.RetiredAt), nullMillis(k.ExpiresAt)}
}

// CreateKey stores k as given, or returns store.ErrConflict if its id is
// taken.
func (s *Store) CreateKey(ctx context.Context, k store.SigningKey) error {
	if _, err := s.db.ExecContext(ctx, insertKey, keyArgs(k)...); err != nil {
		return s.wrapErr("create key", err)
	}
	return nil
}

// ListKeys returns every stored key, oldest first (ties by id).
func (s *Store) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+keyColumns+` FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, s.wrapErr("list keys", err)
	}
	ks, err := collect(rows, scanKey)
	if err != nil {
		return nil, s.wrapErr("list keys", err)
	}
	return ks, nil
}

// RotateKey retires every current key of next's algorithm (RetiredAt =
// next.CreatedAt, ExpiresAt = next.CreatedAt + retireAfter) and stores
// next, in one transaction. If next's id is taken it returns
// store.ErrConflict and retires nothing.
//
// Rotations run one after another: on SQLite in IMMEDIATE transactions; on
// PostgreSQL the transaction first locks signing_keys in SHARE ROW
// EXCLUSIVE mode, which readers (ListKeys) do not wait for but other
// rotations do: under READ COMMITTED, two concurrent rotations would
// otherwise each miss the key the other inserts and leave two current keys
// of one algorithm.
func (s *Store) RotateKey(ctx context.Context, next store.SigningKey, retireAfter time.Duration) error {
	return s.inTx(ctx, "rotate key", func(tx db) error {
		if err := s.f.lockTable(ctx, tx, "signing_keys", "SHARE ROW EXCLUSIVE"); err != nil {
			return s.wrapErr("rotate key: lock", err)
		}
		_, err := tx.ExecContext(ctx,
			`UPDATE signing_keys SET retired_at = ?, expires_at = ?
			WHERE algorithm = ? AND retired_at IS NULL`,
			millis(next.CreatedAt), millis(next.CreatedAt.Add(retireAfter)), next.Algorithm)
		if err != nil {
			return s.wrapErr("rotate key: retire", err)
		}
		if _, err := tx.ExecContext(ctx, insertKey, keyArgs(next)...); err != nil {
			return s.wrapErr("rotate key", err)
		}
		return nil
	})
}

// DeleteExpiredKeys removes retired keys whose ExpiresAt is at or before
// now and returns how many it removed.
func (s *Store) DeleteExpiredKeys(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx,
		`DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND expires_at <= ?`, millis(now))
	return s.affected("delete expired keys", res, err)
}
