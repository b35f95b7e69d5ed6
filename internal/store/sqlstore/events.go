package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// eventColumns are the columns scanEvent reads, in its order.
const eventColumns = `seq, at, type, actor_kind, actor_id, user_id, session_id, client_id, ip, user_agent, detail`

// AppendEvents implements store.EventStore.
func (s *Store) AppendEvents(ctx context.Context, events ...audit.Event) ([]int64, error) {
	const op = "append events"
	if len(events) == 0 {
		return []int64{}, nil
	}
	var seqs []int64
	err := s.inTx(ctx, op, func(tx db) error {
		var err error
		seqs, err = s.appendEvents(ctx, tx, events)
		return err
	})
	return seqs, err
}

// appendEvents inserts events through tx, the transaction of the change
// they describe, and returns their Seqs. It must be the LAST statement of
// the transaction before the commit: on PostgreSQL it locks the events
// table in EXCLUSIVE mode until the commit.
//
// Seq order is commit order, so that a tailer reading "Seq > cursor"
// never skips an event (the revocation log's reasoning, see
// AppendRevocations): a PostgreSQL identity hands out numbers at insert,
// not at commit, so two concurrent transactions could take 7 and 8 and
// commit 8 first. The table lock makes appends wait for each other, while
// readers (ACCESS SHARE) never wait; taking it last keeps it held for one
// insert and the commit, and means a transaction never waits for a row
// lock while holding it, so no deadlock. SQLite's IMMEDIATE transactions
// run one at a time anyway.
func (s *Store) appendEvents(ctx context.Context, tx db, events []audit.Event) ([]int64, error) {
	const op = "append events"
	if len(events) == 0 {
		return []int64{}, nil
	}
	if err := s.f.lockTable(ctx, tx, "events", "EXCLUSIVE"); err != nil {
		return nil, s.wrapErr(op+": lock", err)
	}
	details := make([]string, len(events))
	for i, e := range events {
		detail, err := encodeDetail(e.Detail)
		if err != nil {
			return nil, s.errorf(op, err)
		}
		details[i] = detail
	}
	seqs, err := s.insertBatch(ctx, tx, "events", eventInsertColumns, len(events), func(i int) []any {
		e := events[i]
		return []any{millis(e.Time), e.Type, string(e.Actor.Kind), e.Actor.ID, e.UserID, e.SessionID, e.ClientID, e.IP, e.UserAgent, details[i]}
	})
	if err != nil {
		return nil, s.wrapErr(op, err)
	}
	return seqs, nil
}

// eventInsertColumns are the columns appendEvents writes.
var eventInsertColumns = []batchColumn{{"at", "bigint"}, {"type", "text"}, {"actor_kind", "text"}, {"actor_id", "text"},
	{"user_id", "text"}, {"session_id", "text"}, {"client_id", "text"}, {"ip", "text"}, {"user_agent", "text"}, {"detail", "text"}}

// encodeDetail returns d as stored: a JSON object, "{}" for nil.
func encodeDetail(d map[string]string) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encode detail: %w", err)
	}
	return string(b), nil
}

// scanEvent reads one row of eventColumns.
func scanEvent(r scanner) (audit.Event, error) {
	var (
		e      audit.Event
		at     int64
		detail string
	)
	if err := r.Scan(&e.Seq, &at, &e.Type, &e.Actor.Kind, &e.Actor.ID, &e.UserID, &e.SessionID, &e.ClientID,
		&e.IP, &e.UserAgent, &detail); err != nil {
		return audit.Event{}, err
	}
	e.Time = fromMillis(at)
	e.Detail = map[string]string{}
	if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
		return audit.Event{}, fmt.Errorf("decode detail of event %d: %w", e.Seq, err)
	}
	return e, nil
}

// ListEvents implements store.EventStore with one query on the indexes of
// migration 0011; it reads one row more than the page to know whether
// another page follows.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]audit.Event, int64, error) {
	const op = "list events"
	limit := f.Limit
	if limit <= 0 || limit > store.MaxEventPage {
		limit = store.MaxEventPage
	}
	var where []string
	var args []any
	if f.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	if len(f.Types) > 0 {
		where = append(where, "type IN (?"+strings.Repeat(", ?", len(f.Types)-1)+")")
		for _, t := range f.Types {
			args = append(args, t)
		}
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, millis(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "at < ?"), append(args, millis(f.Until))
	}
	if f.Cursor > 0 {
		where, args = append(where, "seq < ?"), append(args, f.Cursor)
	}
	q := `SELECT ` + eventColumns + ` FROM events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, s.wrapErr(op, err)
	}
	out, err := collect(rows, scanEvent)
	if err != nil {
		return nil, 0, s.wrapErr(op, err)
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].Seq
	}
	return out, next, nil
}

// EventsAfter implements store.EventStore.
func (s *Store) EventsAfter(ctx context.Context, seq int64, limit int) ([]audit.Event, error) {
	const op = "events after"
	if limit <= 0 {
		return []audit.Event{}, nil
	}
	limit = min(limit, store.MaxEventPage)
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, seq, limit)
	if err != nil {
		return nil, s.wrapErr(op, err)
	}
	out, err := collect(rows, scanEvent)
	if err != nil {
		return nil, s.wrapErr(op, err)
	}
	return out, nil
}

// DeleteEventsBefore implements store.EventStore.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM events WHERE at < ?`, millis(t))
	return s.affected("delete events before", res, err)
}
