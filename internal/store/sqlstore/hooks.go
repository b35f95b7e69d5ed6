package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// webhookColumns are the columns scanWebhook reads, in its order.
const webhookColumns = `id, url, description, event_types, enabled, secret, previous_secret, previous_until, created_at, updated_at`

// scanWebhook reads one row of webhookColumns.
func (s *Store) scanWebhook(r scanner) (store.WebhookEndpoint, error) {
	var (
		e                store.WebhookEndpoint
		created, updated int64
		prevUntil        sql.NullInt64
	)
	if err := r.Scan(&e.ID, &e.URL, &e.Description, s.f.listDest(&e.EventTypes), &e.Enabled, &e.Secret, &e.PreviousSecret, &prevUntil, &created, &updated); err != nil {
		return store.WebhookEndpoint{}, err
	}
	if len(e.PreviousSecret) == 0 {
		e.PreviousSecret = nil
	}
	e.PreviousUntil, e.CreatedAt, e.UpdatedAt = fromNullMillis(prevUntil), fromMillis(created), fromMillis(updated)
	return e, nil
}

// nullBlob binds b to a nullable BLOB or bytea column: NULL when empty.
func nullBlob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// CreateWebhook implements store.WebhookStore.
func (s *Store) CreateWebhook(ctx context.Context, e store.WebhookEndpoint) error {
	types, err := s.f.listArg(e.EventTypes)
	if err != nil {
		return s.errorf("create webhook", err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO webhook_endpoints (`+webhookColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.URL, e.Description, types, e.Enabled, blob(e.Secret), nullBlob(e.PreviousSecret), nullMillis(e.PreviousUntil),
		millis(e.CreatedAt), millis(e.UpdatedAt))
	return s.wrapErrIf("create webhook", err)
}

// GetWebhook implements store.WebhookStore.
func (s *Store) GetWebhook(ctx context.Context, id string) (store.WebhookEndpoint, error) {
	e, err := s.scanWebhook(s.db.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints WHERE id = ?`, id))
	if err != nil {
		return store.WebhookEndpoint{}, s.wrapErr("get webhook", err)
	}
	return e, nil
}

// ListWebhooks implements store.WebhookStore.
func (s *Store) ListWebhooks(ctx context.Context) ([]store.WebhookEndpoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints ORDER BY created_at, id`)
	if err != nil {
		return nil, s.wrapErr("list webhooks", err)
	}
	out, err := collect(rows, s.scanWebhook)
	if err != nil {
		return nil, s.wrapErr("list webhooks", err)
	}
	return out, nil
}

// UpdateWebhook implements store.WebhookStore: the row is read and
// written back in one transaction, locked on PostgreSQL.
func (s *Store) UpdateWebhook(ctx context.Context, id string, update func(store.WebhookEndpoint) (store.WebhookEndpoint, error)) (store.WebhookEndpoint, error) {
	const op = "update webhook"
	var out store.WebhookEndpoint
	err := s.inTx(ctx, op, func(tx db) error {
		old, err := s.scanWebhook(tx.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints WHERE id = ?`+s.f.forUpdate, id))
		if err != nil {
			return s.wrapErr(op, err)
		}
		e, err := update(old)
		if err != nil {
			return err
		}
		e.ID, e.CreatedAt = old.ID, old.CreatedAt
		types, err := s.f.listArg(e.EventTypes)
		if err != nil {
			return s.errorf(op, err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET url = ?, description = ?, event_types = ?, enabled = ?,
			secret = ?, previous_secret = ?, previous_until = ?, updated_at = ? WHERE id = ?`,
			e.URL, e.Description, types, e.Enabled, blob(e.Secret), nullBlob(e.PreviousSecret), nullMillis(e.PreviousUntil), millis(e.UpdatedAt), id)
		if err != nil {
			return s.wrapErr(op, err)
		}
		out = e
		return nil
	})
	return out, err
}

// DeleteWebhook implements store.WebhookStore.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	const op = "delete webhook"
	return s.inTx(ctx, op, func(tx db) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = ?`, id)
		if err := s.checkAffected(op, res, err); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM deliveries WHERE kind = ? AND target = ?`, string(store.DeliveryWebhook), id)
		return s.wrapErrIf(op, err)
	})
}

// deliveryColumns are the columns scanDelivery reads, in its order.
const deliveryColumns = `id, kind, target, message_id, payload, created_at, state, next_attempt_at, attempts,
	last_attempt_at, last_status, last_error, lease_holder, lease_until, finished_at`

// scanDelivery reads one row of deliveryColumns.
func scanDelivery(r scanner) (store.Delivery, error) {
	var (
		d                                 store.Delivery
		kind, state                       string
		created, next                     int64
		lastAttempt, leaseUntil, finished sql.NullInt64
	)
	if err := r.Scan(&d.ID, &kind, &d.Target, &d.MessageID, &d.Payload, &created, &state, &next, &d.Attempts,
		&lastAttempt, &d.LastStatus, &d.LastError, &d.LeaseHolder, &leaseUntil, &finished); err != nil {
		return store.Delivery{}, err
	}
	d.Kind, d.State = store.DeliveryKind(kind), store.DeliveryState(state)
	d.CreatedAt, d.NextAttemptAt = fromMillis(created), fromMillis(next)
	d.LastAttemptAt, d.LeaseUntil, d.FinishedAt = fromNullMillis(lastAttempt), fromNullMillis(leaseUntil), fromNullMillis(finished)
	return d, nil
}

// EnqueueDeliveries implements store.DeliveryOutbox.
func (s *Store) EnqueueDeliveries(ctx context.Context, ds ...store.Delivery) (int, error) {
	const op = "enqueue deliveries"
	if len(ds) == 0 {
		return 0, nil
	}
	added := 0
	err := s.inTx(ctx, op, func(tx db) error {
		added = 0
		for _, d := range ds {
			res, err := tx.ExecContext(ctx, `INSERT INTO deliveries (id, kind, target, message_id, payload, created_at, state, next_attempt_at)
				VALUES (?, ?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT (id) DO NOTHING`,
				d.ID, string(d.Kind), d.Target, d.MessageID, blob(d.Payload), millis(d.CreatedAt), millis(d.NextAttemptAt))
			n, err := s.affected(op, res, err)
			if err != nil {
				return err
			}
			added += n
		}
		return nil
	})
	return added, err
}

// ClaimDeliveries implements store.DeliveryOutbox as ClaimMails does
// (claimDue).
func (s *Store) ClaimDeliveries(ctx context.Context, holder string, now time.Time, lease time.Duration, limit int) ([]store.Delivery, error) {
	return claimDue(ctx, s, "deliveries", deliveryColumns, scanDelivery, func(d store.Delivery) (time.Time, string) { return d.NextAttemptAt, d.ID },
		holder, now, lease, limit)
}

// MarkDeliveryDone implements store.DeliveryOutbox.
func (s *Store) MarkDeliveryDone(ctx context.Context, id string, a store.DeliveryAttempt) error {
	res, err := s.db.ExecContext(ctx, `UPDATE deliveries
		SET state = 'delivered', finished_at = ?, last_attempt_at = ?, last_status = ?, last_error = '',
			payload = NULL, lease_holder = '', lease_until = NULL
		WHERE id = ? AND state <> 'delivered'`, millis(a.At), millis(a.At), a.Status, id)
	n, err := s.affected("mark delivery done", res, err)
	if err != nil || n > 0 {
		return err
	}
	_, err = s.GetDelivery(ctx, id)
	return err
}

// MarkDeliveryFailed implements store.DeliveryOutbox.
func (s *Store) MarkDeliveryFailed(ctx context.Context, id, holder string, a store.DeliveryAttempt) error {
	var (
		res result
		err error
	)
	if a.Dead {
		res, err = s.db.ExecContext(ctx, `UPDATE deliveries
			SET state = 'dead', finished_at = ?, last_attempt_at = ?, last_status = ?, last_error = ?,
				lease_holder = '', lease_until = NULL
			WHERE id = ? AND state = 'pending' AND lease_holder = ?`, millis(a.At), millis(a.At), a.Status, a.Error, id, holder)
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE deliveries
			SET next_attempt_at = ?, last_attempt_at = ?, last_status = ?, last_error = ?, lease_holder = '', lease_until = NULL
			WHERE id = ? AND state = 'pending' AND lease_holder = ?`, millis(a.NextAttemptAt), millis(a.At), a.Status, a.Error, id, holder)
	}
	return s.checkAffected("mark delivery failed", res, err)
}

// GetDelivery implements store.DeliveryOutbox.
func (s *Store) GetDelivery(ctx context.Context, id string) (store.Delivery, error) {
	d, err := scanDelivery(s.db.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ?`, id))
	if err != nil {
		return store.Delivery{}, s.wrapErr("get delivery", err)
	}
	return d, nil
}

// ListDeliveries implements store.DeliveryOutbox.
func (s *Store) ListDeliveries(ctx context.Context, kind store.DeliveryKind, target string, limit int) ([]store.Delivery, error) {
	if limit <= 0 {
		return []store.Delivery{}, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE kind = ? AND target = ? ORDER BY created_at DESC, id DESC LIMIT ?`, string(kind), target, limit)
	if err != nil {
		return nil, s.wrapErr("list deliveries", err)
	}
	out, err := collect(rows, scanDelivery)
	if err != nil {
		return nil, s.wrapErr("list deliveries", err)
	}
	return out, nil
}

// RetryDelivery implements store.DeliveryOutbox.
func (s *Store) RetryDelivery(ctx context.Context, id string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE deliveries
		SET state = 'pending', attempts = 0, next_attempt_at = ?, finished_at = NULL, lease_holder = '', lease_until = NULL
		WHERE id = ? AND state = 'dead'`, millis(now), id)
	return s.checkAffected("retry delivery", res, err)
}

// DeleteFinishedDeliveries implements store.DeliveryOutbox.
func (s *Store) DeleteFinishedDeliveries(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM deliveries WHERE state <> 'pending' AND finished_at < ?`, millis(before))
	return s.affected("delete finished deliveries", res, err)
}

// RecordBackchannelSession implements store.BackchannelStore.
func (s *Store) RecordBackchannelSession(ctx context.Context, b store.BackchannelSession) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO backchannel_sessions (client_id, sid, subject, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (client_id, sid) DO UPDATE SET subject = excluded.subject,
			expires_at = CASE WHEN excluded.expires_at > backchannel_sessions.expires_at
				THEN excluded.expires_at ELSE backchannel_sessions.expires_at END`,
		b.ClientID, b.SID, b.Subject, millis(b.ExpiresAt))
	return s.wrapErrIf("record back-channel session", err)
}

// BackchannelSessions implements store.BackchannelStore.
func (s *Store) BackchannelSessions(ctx context.Context, sid, subject string) ([]store.BackchannelSession, error) {
	q, arg := `SELECT client_id, sid, subject, expires_at FROM backchannel_sessions WHERE sid = ? ORDER BY client_id`, sid
	if sid == "" {
		q, arg = `SELECT client_id, sid, subject, expires_at FROM backchannel_sessions WHERE subject = ? ORDER BY client_id, sid`, subject
	}
	rows, err := s.db.QueryContext(ctx, q, arg)
	if err != nil {
		return nil, s.wrapErr("list back-channel sessions", err)
	}
	out, err := collect(rows, func(r scanner) (store.BackchannelSession, error) {
		var b store.BackchannelSession
		var exp int64
		err := r.Scan(&b.ClientID, &b.SID, &b.Subject, &exp)
		b.ExpiresAt = fromMillis(exp)
		return b, err
	})
	if err != nil {
		return nil, s.wrapErr("list back-channel sessions", err)
	}
	return out, nil
}

// DeleteBackchannelSession implements store.BackchannelStore.
func (s *Store) DeleteBackchannelSession(ctx context.Context, clientID, sid string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM backchannel_sessions WHERE client_id = ? AND sid = ?`, clientID, sid)
	return s.wrapErrIf("delete back-channel session", err)
}

// DeleteExpiredBackchannelSessions implements store.BackchannelStore.
func (s *Store) DeleteExpiredBackchannelSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM backchannel_sessions WHERE expires_at <= ?`, millis(now))
	return s.affected("delete expired back-channel sessions", res, err)
}

// TailCursor implements store.TailCursorStore.
func (s *Store) TailCursor(ctx context.Context, name string) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT seq FROM tail_cursors WHERE name = ?`, name).Scan(&seq)
	if err != nil {
		if err = s.wrapErr("get tail cursor", err); errors.Is(err, store.ErrNotFound) {
			return 0, nil
		}
		return 0, err
	}
	return seq, nil
}

// SetTailCursor implements store.TailCursorStore.
func (s *Store) SetTailCursor(ctx context.Context, name string, seq int64, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO tail_cursors (name, seq, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at`, name, seq, millis(now))
	return s.wrapErrIf("set tail cursor", err)
}

// Compile-time checks.
var (
	_ store.WebhookStore     = (*Store)(nil)
	_ store.DeliveryOutbox   = (*Store)(nil)
	_ store.BackchannelStore = (*Store)(nil)
	_ store.TailCursorStore  = (*Store)(nil)
)
