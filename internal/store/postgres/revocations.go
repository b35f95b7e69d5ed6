package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// AppendRevocations adds events to the log in one transaction, so that
// either all or none are added, and returns them as stored: with Seq set
// and times in UTC, truncated to the millisecond. Each event must set
// exactly one of SessionID, UserID and TokenID; the schema rejects any
// other.
//
// Seqs come from a sequence, which hands them out when a row is inserted,
// not when its transaction commits: two concurrent appends could take
// Seqs 7 and 8 and commit 8 first, and a reader polling "Seq > cursor" in
// between would move its cursor to 8 and never see 7. So the transaction
// first locks the revocations table in EXCLUSIVE mode: appends (and the
// expiry sweep) wait for each other, while readers, which take only
// ACCESS SHARE, do not wait at all. An append then takes its Seqs and
// commits before the next one takes any, so Seq order is commit order and
// every reader sees a prefix of the log.
func (s *Store) AppendRevocations(ctx context.Context, events []store.Revocation) ([]store.Revocation, error) {
	out := make([]store.Revocation, 0, len(events))
	if len(events) == 0 {
		return out, nil
	}
	err := s.inTx(ctx, "append revocations", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE revocations IN EXCLUSIVE MODE`); err != nil {
			return wrapErr("append revocations: lock", err)
		}
		// One round trip for the batch; its statements run in order, so
		// the Seqs increase in the order of events.
		var b pgx.Batch
		for _, e := range events {
			b.Queue(`INSERT INTO revocations (session_id, user_id, token_id, at, expires)
				VALUES ($1, $2, $3, $4, $5) RETURNING seq`,
				e.SessionID, e.UserID, e.TokenID, millis(e.At), millis(e.Expires))
		}
		br := tx.SendBatch(ctx, &b)
		for _, e := range events {
			if err := br.QueryRow().Scan(&e.Seq); err != nil {
				br.Close()
				return wrapErr("append revocations", err)
			}
			e.At = fromMillis(millis(e.At))
			e.Expires = fromMillis(millis(e.Expires))
			out = append(out, e)
		}
		if err := br.Close(); err != nil {
			return wrapErr("append revocations", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListRevocations returns up to limit events with Seq > afterSeq, in Seq
// order, whose Expires is after now; an empty slice if there are none or
// limit is not positive.
func (s *Store) ListRevocations(ctx context.Context, afterSeq int64, now time.Time, limit int) ([]store.Revocation, error) {
	if limit <= 0 {
		return []store.Revocation{}, nil
	}
	rows, err := s.pool.Query(ctx,
		`SELECT seq, session_id, user_id, token_id, at, expires FROM revocations
		WHERE seq > $1 AND expires > $2 ORDER BY seq LIMIT $3`,
		afterSeq, millis(now), limit)
	if err != nil {
		return nil, wrapErr("list revocations", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Revocation, error) {
		var (
			e           store.Revocation
			at, expires int64
		)
		if err := r.Scan(&e.Seq, &e.SessionID, &e.UserID, &e.TokenID, &at, &expires); err != nil {
			return store.Revocation{}, err
		}
		e.At = fromMillis(at)
		e.Expires = fromMillis(expires)
		return e, nil
	})
	if err != nil {
		return nil, wrapErr("list revocations", err)
	}
	return out, nil
}

// DeleteExpiredRevocations removes events whose Expires is at or before
// now, and returns how many it removed. Their Seqs are never assigned
// again.
func (s *Store) DeleteExpiredRevocations(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM revocations WHERE expires <= $1`, millis(now))
	if err != nil {
		return 0, wrapErr("delete expired revocations", err)
	}
	return affected(tag), nil
}
