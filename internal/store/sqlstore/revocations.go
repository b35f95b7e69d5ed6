package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// AppendRevocations adds events to the log in one transaction, so that
// either all or none are added, and returns them as stored: with Seq set
// and times in UTC, truncated to the millisecond. Each event must set
// exactly one of SessionID, UserID and TokenID; the schema rejects any
// other.
//
// Seq order is commit order, so that a reader polling "Seq > cursor" never
// skips an event. SQLite's IMMEDIATE transactions give that by running
// one at a time. A PostgreSQL sequence hands out numbers when a row is
// inserted, not when its transaction commits: two concurrent appends could
// take Seqs 7 and 8 and commit 8 first, and a reader in between would move
// its cursor to 8 and never see 7. So on PostgreSQL the transaction first
// locks the revocations table in EXCLUSIVE mode: appends (and the expiry
// sweep) wait for each other, while readers, which take only ACCESS
// SHARE, do not wait at all.
func (s *Store) AppendRevocations(ctx context.Context, events []store.Revocation) ([]store.Revocation, error) {
	out, _, err := s.AppendRevocationsWithEvents(ctx, events, nil)
	return out, err
}

// AppendRevocationsWithEvents implements store.RevocationEventStore:
// AppendRevocations and appendEvents in one transaction, the audit events
// last (see appendEvents).
func (s *Store) AppendRevocationsWithEvents(ctx context.Context, events []store.Revocation, audits []audit.Event) ([]store.Revocation, []int64, error) {
	const op = "append revocations"
	out := make([]store.Revocation, 0, len(events))
	if len(events) == 0 && len(audits) == 0 {
		return out, []int64{}, nil
	}
	var seqs []int64
	err := s.inTx(ctx, op, func(tx db) error {
		out = out[:0]
		if len(events) > 0 {
			if err := s.f.lockTable(ctx, tx, "revocations", "EXCLUSIVE"); err != nil {
				return s.wrapErr(op+": lock", err)
			}
		}
		// The Seqs increase in the order of events (insertBatch).
		rseqs, err := s.insertBatch(ctx, tx, "revocations", revocationColumns, len(events), func(i int) []any {
			e := events[i]
			return []any{e.SessionID, e.UserID, e.TokenID, millis(e.At), millis(e.Expires)}
		})
		if err != nil {
			return s.wrapErr(op, err)
		}
		for i, e := range events {
			e.Seq = rseqs[i]
			e.At = fromMillis(millis(e.At))
			e.Expires = fromMillis(millis(e.Expires))
			out = append(out, e)
		}
		seqs, err = s.appendEvents(ctx, tx, audits)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return out, seqs, nil
}

// revocationColumns are the columns AppendRevocationsWithEvents writes.
var revocationColumns = []batchColumn{{"session_id", "text"}, {"user_id", "text"}, {"token_id", "text"}, {"at", "bigint"}, {"expires", "bigint"}}

// ListRevocations returns up to limit events with Seq > afterSeq, in Seq
// order, whose Expires is after now; an empty slice if there are none or
// limit is not positive.
func (s *Store) ListRevocations(ctx context.Context, afterSeq int64, now time.Time, limit int) ([]store.Revocation, error) {
	if limit <= 0 {
		return []store.Revocation{}, nil
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT seq, session_id, user_id, token_id, at, expires FROM revocations
		WHERE seq > ? AND expires > ? ORDER BY seq LIMIT ?`,
		afterSeq, millis(now), limit)
	if err != nil {
		return nil, s.wrapErr("list revocations", err)
	}
	out, err := collect(rows, func(r scanner) (store.Revocation, error) {
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
		return nil, s.wrapErr("list revocations", err)
	}
	return out, nil
}

// DeleteExpiredRevocations removes events whose Expires is at or before
// now, and returns how many it removed. Their Seqs are never assigned
// again.
func (s *Store) DeleteExpiredRevocations(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM revocations WHERE expires <= ?`, millis(now))
	return s.affected("delete expired revocations", res, err)
}
