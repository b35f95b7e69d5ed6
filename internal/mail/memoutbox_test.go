package mail

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// memOutbox is an in-memory store.MailOutbox for the worker's tests. It
// passes the outbox conformance suite (TestMemOutboxConformance), so the
// worker is tested against the contract the SQL store meets too.
type memOutbox struct {
	mu    sync.Mutex
	mails map[string]store.OutboxMail
}

func newMemOutbox() *memOutbox { return &memOutbox{mails: map[string]store.OutboxMail{}} }

func (o *memOutbox) EnqueueMail(_ context.Context, m store.OutboxMail) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.mails[m.ID]; ok {
		return store.ErrConflict
	}
	m.State, m.Attempts, m.LastError, m.LeaseHolder, m.LeaseUntil, m.FinishedAt = store.MailPending, 0, "", "", time.Time{}, time.Time{}
	m.Payload = slices.Clone(m.Payload)
	o.mails[m.ID] = m
	return nil
}

func (o *memOutbox) ClaimMails(_ context.Context, holder string, now time.Time, lease time.Duration, limit int) ([]store.OutboxMail, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var due []store.OutboxMail
	for _, m := range o.mails {
		if m.State == store.MailPending && !m.NextAttemptAt.After(now) && !m.LeaseUntil.After(now) {
			due = append(due, m)
		}
	}
	slices.SortFunc(due, func(a, b store.OutboxMail) int {
		return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), cmp.Compare(a.ID, b.ID))
	})
	due = due[:min(limit, len(due))]
	for i := range due {
		due[i].Attempts++
		due[i].LeaseHolder, due[i].LeaseUntil = holder, now.Add(lease)
		o.mails[due[i].ID] = due[i]
	}
	return due, nil
}

func (o *memOutbox) MarkMailSent(_ context.Context, id string, now time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	m, ok := o.mails[id]
	if !ok {
		return store.ErrNotFound
	}
	if m.State == store.MailSent {
		return nil
	}
	m.State, m.FinishedAt, m.Payload, m.LeaseHolder, m.LeaseUntil = store.MailSent, now, nil, "", time.Time{}
	o.mails[id] = m
	return nil
}

func (o *memOutbox) MarkMailFailed(_ context.Context, id, holder string, f store.MailFailure) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	m, ok := o.mails[id]
	if !ok || m.State != store.MailPending || m.LeaseHolder != holder {
		return store.ErrNotFound
	}
	m.LastError, m.LeaseHolder, m.LeaseUntil = f.Error, "", time.Time{}
	if f.Dead {
		m.State, m.FinishedAt, m.Payload = store.MailDead, f.At, nil
	} else {
		m.NextAttemptAt = f.NextAttemptAt
	}
	o.mails[id] = m
	return nil
}

func (o *memOutbox) GetMail(_ context.Context, id string) (store.OutboxMail, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m, ok := o.mails[id]
	if !ok {
		return store.OutboxMail{}, store.ErrNotFound
	}
	return m, nil
}

func (o *memOutbox) DeleteFinishedMails(_ context.Context, before time.Time) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for id, m := range o.mails {
		if m.State != store.MailPending && m.FinishedAt.Before(before) {
			delete(o.mails, id)
			n++
		}
	}
	return n, nil
}

func TestMemOutboxConformance(t *testing.T) {
	storetest.RunMailOutboxTests(t, func(t *testing.T) store.MailOutbox { return newMemOutbox() })
}
