package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// outboxColumns are the columns scanMail reads, in its order.
const outboxColumns = `id, kind, payload, created_at, state, next_attempt_at, attempts, last_error, lease_holder, lease_until, finished_at`

// EnqueueMail implements store.MailOutbox.
func (s *Store) EnqueueMail(ctx context.Context, m store.OutboxMail) error {
	return s.wrapErrIf("enqueue mail", enqueueMail(ctx, s.db, m))
}

// enqueueMail inserts m through q, a transaction when a caller creates a
// one-time token and its mail together.
func enqueueMail(ctx context.Context, q db, m store.OutboxMail) error {
	_, err := q.ExecContext(ctx, `INSERT INTO mail_outbox (id, kind, payload, created_at, state, next_attempt_at)
		VALUES (?, ?, ?, ?, 'pending', ?)`, m.ID, m.Kind, blob(m.Payload), millis(m.CreatedAt), millis(m.NextAttemptAt))
	return err
}

// ClaimMails implements store.MailOutbox with one UPDATE … RETURNING of
// the due mails. On PostgreSQL the subquery locks them FOR UPDATE SKIP
// LOCKED, so concurrent claims take disjoint mails without waiting for
// each other; on SQLite the statement holds the database's write lock.
func (s *Store) ClaimMails(ctx context.Context, holder string, now time.Time, lease time.Duration, limit int) ([]store.OutboxMail, error) {
	return claimDue(ctx, s, "mail_outbox", outboxColumns, scanMail, func(m store.OutboxMail) (time.Time, string) { return m.NextAttemptAt, m.ID },
		holder, now, lease, limit)
}

// claimDue claims the due rows of a durable queue (mail_outbox,
// deliveries: the same state, next_attempt_at, attempts and lease
// columns) with one UPDATE … RETURNING, and returns them earliest due
// first, then by id. On PostgreSQL the subquery locks them FOR UPDATE
// SKIP LOCKED, so concurrent claims take disjoint rows without waiting
// for each other; on SQLite the statement holds the write lock.
func claimDue[T any](ctx context.Context, s *Store, table, columns string, scan func(scanner) (T, error),
	key func(T) (time.Time, string), holder string, now time.Time, lease time.Duration, limit int) ([]T, error) {
	op := "claim from " + table
	lock := ""
	if s.f.forUpdate != "" {
		lock = s.f.forUpdate + " SKIP LOCKED"
	}
	rs, err := s.db.QueryContext(ctx, `UPDATE `+table+` SET attempts = attempts + 1, lease_holder = ?, lease_until = ?
		WHERE id IN (SELECT id FROM `+table+`
			WHERE state = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
			ORDER BY next_attempt_at, id LIMIT ?`+lock+`)
		RETURNING `+columns, holder, millis(now.Add(lease)), millis(now), millis(now), limit)
	if err != nil {
		return nil, s.wrapErr(op, err)
	}
	out, err := collect(rs, scan)
	if err != nil {
		return nil, s.wrapErr(op, err)
	}
	// RETURNING follows no ORDER BY.
	slices.SortFunc(out, func(a, b T) int {
		ta, ia := key(a)
		tb, ib := key(b)
		return cmp.Or(ta.Compare(tb), cmp.Compare(ia, ib))
	})
	return out, nil
}

// MarkMailSent implements store.MailOutbox.
func (s *Store) MarkMailSent(ctx context.Context, id string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE mail_outbox
		SET state = 'sent', finished_at = ?, payload = NULL, lease_holder = '', lease_until = NULL
		WHERE id = ? AND state <> 'sent'`, millis(now), id)
	n, err := s.affected("mark mail sent", res, err)
	if err != nil || n > 0 {
		return err
	}
	_, err = s.GetMail(ctx, id) // sent already (nil), or missing
	return err
}

// MarkMailFailed implements store.MailOutbox.
func (s *Store) MarkMailFailed(ctx context.Context, id, holder string, f store.MailFailure) error {
	var res result
	var err error
	if f.Dead {
		res, err = s.db.ExecContext(ctx, `UPDATE mail_outbox
			SET state = 'dead', finished_at = ?, payload = NULL, last_error = ?, lease_holder = '', lease_until = NULL
			WHERE id = ? AND state = 'pending' AND lease_holder = ?`, millis(f.At), f.Error, id, holder)
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE mail_outbox
			SET next_attempt_at = ?, last_error = ?, lease_holder = '', lease_until = NULL
			WHERE id = ? AND state = 'pending' AND lease_holder = ?`, millis(f.NextAttemptAt), f.Error, id, holder)
	}
	return s.checkAffected("mark mail failed", res, err)
}

// GetMail implements store.MailOutbox.
func (s *Store) GetMail(ctx context.Context, id string) (store.OutboxMail, error) {
	m, err := scanMail(s.db.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM mail_outbox WHERE id = ?`, id))
	if err != nil {
		return store.OutboxMail{}, s.wrapErr("get mail", err)
	}
	return m, nil
}

// DeleteFinishedMails implements store.MailOutbox.
func (s *Store) DeleteFinishedMails(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM mail_outbox WHERE state <> 'pending' AND finished_at < ?`, millis(before))
	return s.affected("delete finished mails", res, err)
}

// scanMail reads one row of outboxColumns.
func scanMail(row scanner) (store.OutboxMail, error) {
	var m store.OutboxMail
	var state string
	var created, next int64
	var leaseUntil, finished sql.NullInt64
	if err := row.Scan(&m.ID, &m.Kind, &m.Payload, &created, &state, &next, &m.Attempts, &m.LastError, &m.LeaseHolder, &leaseUntil, &finished); err != nil {
		return store.OutboxMail{}, err
	}
	m.State, m.CreatedAt, m.NextAttemptAt = store.MailState(state), fromMillis(created), fromMillis(next)
	m.LeaseUntil, m.FinishedAt = fromNullMillis(leaseUntil), fromNullMillis(finished)
	return m, nil
}
