package sqlite

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// AppendRevocations adds events to the log in one transaction, so that
// either all or none are added, and returns them as stored: with Seq set
// and times in UTC, truncated to the millisecond.
// Each event must set exactly one of SessionID, UserID and TokenID; the
// schema rejects any other.
func (s *Store) AppendRevocations(ctx context.Context, events []store.Revocation) ([]store.Revocation, error) {
	out := make([]store.Revocation, 0, len(events))
	if len(events) == 0 {
		return out, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrapErr("append revocations: begin", err)
	}
	defer rollback(tx)

	stmt, err := tx.PrepareContext(ctx,
		`INSERT INTO revocations (session_id, user_id, token_id, at, expires)
		VALUES (?, ?, ?, ?, ?) RETURNING seq`)
	if err != nil {
		return nil, wrapErr("append revocations", err)
	}
	defer stmt.Close()
	for _, e := range events {
		if err := stmt.QueryRowContext(ctx, e.SessionID, e.UserID, e.TokenID, millis(e.At), millis(e.Expires)).Scan(&e.Seq); err != nil {
			return nil, wrapErr("append revocations", err)
		}
		e.At = fromMillis(millis(e.At))
		e.Expires = fromMillis(millis(e.Expires))
		out = append(out, e)
	}
	if err := tx.Commit(); err != nil {
		return nil, wrapErr("append revocations: commit", err)
	}
	return out, nil
}

// ListRevocations returns up to limit events with Seq > afterSeq, in Seq
// order, whose Expires is after now; an empty slice if there are none or
// limit is not positive.
func (s *Store) ListRevocations(ctx context.Context, afterSeq int64, now time.Time, limit int) ([]store.Revocation, error) {
	out := []store.Revocation{}
	if limit <= 0 {
		return out, nil
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT seq, session_id, user_id, token_id, at, expires FROM revocations
		WHERE seq > ? AND expires > ? ORDER BY seq LIMIT ?`,
		afterSeq, millis(now), limit)
	if err != nil {
		return nil, wrapErr("list revocations", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e           store.Revocation
			at, expires int64
		)
		if err := rows.Scan(&e.Seq, &e.SessionID, &e.UserID, &e.TokenID, &at, &expires); err != nil {
			return nil, wrapErr("list revocations", err)
		}
		e.At = fromMillis(at)
		e.Expires = fromMillis(expires)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list revocations", err)
	}
	return out, nil
}

// DeleteExpiredRevocations removes events whose Expires is at or before
// now, and returns how many it removed. Their Seqs are never assigned
// again.
func (s *Store) DeleteExpiredRevocations(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM revocations WHERE expires <= ?`, millis(now))
	if err != nil {
		return 0, wrapErr("delete expired revocations", err)
	}
	return affected("delete expired revocations", res)
}
