package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// oneTimeTokenColumns lists the one_time_tokens columns in the order
// scanOneTimeToken reads them.
const oneTimeTokenColumns = `hash, purpose, user_id, email, created_at, expires_at, used_at`

// scanOneTimeToken reads one row of oneTimeTokenColumns.
func scanOneTimeToken(r scanner) (store.OneTimeToken, error) {
	var (
		t                store.OneTimeToken
		purpose          string
		created, expires int64
		used             sql.NullInt64
	)
	if err := r.Scan(&t.Hash, &purpose, &t.UserID, &t.Email, &created, &expires, &used); err != nil {
		return store.OneTimeToken{}, err
	}
	t.Purpose = store.TokenPurpose(purpose)
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromMillis(created), fromMillis(expires), fromNullMillis(used)
	return t, nil
}

// CreateOneTimeToken implements store.OneTimeTokenStore: the user's
// unused tokens of t's purpose are deleted and t inserted in one
// transaction.
func (s *Store) CreateOneTimeToken(ctx context.Context, t store.OneTimeToken) error {
	const op = "create one-time token"
	return s.inTx(ctx, op, func(tx db) error {
		return s.wrapErrIf(op, createOneTimeToken(ctx, tx, t))
	})
}

// createOneTimeToken supersedes the user's unused tokens of t's purpose
// and inserts t, through tx.
func createOneTimeToken(ctx context.Context, tx db, t store.OneTimeToken) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM one_time_tokens WHERE user_id = ? AND purpose = ? AND used_at IS NULL`,
		t.UserID, string(t.Purpose)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO one_time_tokens (`+oneTimeTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, NULL)`,
		blob(t.Hash), string(t.Purpose), t.UserID, t.Email, millis(t.CreatedAt), millis(t.ExpiresAt))
	return err
}

// ConsumeOneTimeToken implements store.OneTimeTokenStore with one
// conditional UPDATE … RETURNING: of concurrent consumptions exactly one
// changes the row.
func (s *Store) ConsumeOneTimeToken(ctx context.Context, hash []byte, purpose store.TokenPurpose, now time.Time) (store.OneTimeToken, error) {
	t, err := scanOneTimeToken(s.db.QueryRowContext(ctx, `UPDATE one_time_tokens SET used_at = ?
		WHERE hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
		RETURNING `+oneTimeTokenColumns, millis(now), blob(hash), string(purpose), millis(now)))
	if err != nil {
		return store.OneTimeToken{}, s.wrapErr("consume one-time token", err)
	}
	return t, nil
}

// DeleteExpiredOneTimeTokens implements store.OneTimeTokenStore.
func (s *Store) DeleteExpiredOneTimeTokens(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM one_time_tokens WHERE expires_at <= ?`, millis(before))
	return s.affected("delete expired one-time tokens", res, err)
}

// CreateOneTimeTokenWithMail implements store.OneTimeTokenMailStore: the
// token (superseding the user's older ones) and the mail are written in
// one transaction.
func (s *Store) CreateOneTimeTokenWithMail(ctx context.Context, t store.OneTimeToken, m store.OutboxMail) error {
	const op = "create one-time token with mail"
	return s.inTx(ctx, op, func(tx db) error {
		if err := createOneTimeToken(ctx, tx, t); err != nil {
			return s.wrapErr(op, err)
		}
		return s.wrapErrIf(op, enqueueMail(ctx, tx, m))
	})
}

// RehearseOneTimeTokenWithMail implements store.OneTimeTokenMailStore:
// the statements of CreateOneTimeTokenWithMail, then the deletes of what
// they inserted, committed. A rollback would be cheaper than the real
// commit (no write-ahead log pages), and so tell the two apart.
func (s *Store) RehearseOneTimeTokenWithMail(ctx context.Context, t store.OneTimeToken, m store.OutboxMail) error {
	const op = "rehearse one-time token with mail"
	return s.inTx(ctx, op, func(tx db) error {
		if err := createOneTimeToken(ctx, tx, t); err != nil {
			return s.wrapErr(op, err)
		}
		if err := enqueueMail(ctx, tx, m); err != nil {
			return s.wrapErr(op, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mail_outbox WHERE id = ?`, m.ID); err != nil {
			return s.wrapErr(op, err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM one_time_tokens WHERE hash = ?`, blob(t.Hash))
		return s.wrapErrIf(op, err)
	})
}
