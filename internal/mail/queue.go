package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/seal"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Queue puts rendered messages into the durable outbox, sealed: the
// message (which may carry a one-time secret) is encrypted with
// AES-256-GCM under a key derived from the server's key-encryption key,
// bound to the mail's id, so a database dump does not hold live links.
type Queue struct {
	st    store.MailOutbox
	key   [seal.KeySize]byte
	now   func() time.Time
	ready chan struct{}
}

// NewQueue returns a queue on st whose payloads are sealed under a key
// derived from kek. now is the enqueue clock; nil means time.Now.
func NewQueue(st store.MailOutbox, kek [seal.KeySize]byte, now func() time.Time) (*Queue, error) {
	if now == nil {
		now = time.Now
	}
	key, err := seal.DeriveKey("gatehouse mail outbox", kek[:])
	if err != nil {
		return nil, fmt.Errorf("mail: outbox key: %w", err)
	}
	return &Queue{st: st, key: key, now: now, ready: make(chan struct{}, 1)}, nil
}

// Prepare seals m into an outbox record, due now. A caller that creates
// a one-time token and its mail in one transaction prepares the record
// here and hands it to the store's combined method; Enqueue does both
// steps for a mail that stands alone.
func (q *Queue) Prepare(m Message) (store.OutboxMail, error) {
	if m.ID == "" || m.To == "" {
		return store.OutboxMail{}, errors.New("mail: a queued message needs an id and a recipient")
	}
	plain, err := json.Marshal(m)
	if err != nil {
		return store.OutboxMail{}, fmt.Errorf("mail: encoding message: %w", err)
	}
	sealed, err := seal.Seal(q.key, plain, []byte(m.ID))
	if err != nil {
		return store.OutboxMail{}, fmt.Errorf("mail: sealing message: %w", err)
	}
	now := q.now().UTC()
	return store.OutboxMail{ID: m.ID, Kind: string(m.Kind), Payload: sealed, CreatedAt: now, NextAttemptAt: now, State: store.MailPending}, nil
}

// Enqueue prepares m and stores it, then wakes a local worker. Once it
// returns nil, the mail is sent even if the process dies right after.
func (q *Queue) Enqueue(ctx context.Context, m Message) error {
	om, err := q.Prepare(m)
	if err != nil {
		return err
	}
	if err := q.st.EnqueueMail(ctx, om); err != nil {
		return fmt.Errorf("mail: enqueue %s: %w", m.ID, err)
	}
	q.Notify()
	return nil
}

// Notify wakes the worker of this process, so that a mail enqueued
// outside Enqueue (in a caller's transaction) leaves at once rather than
// at the next poll.
func (q *Queue) Notify() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// open unseals a claimed record.
func (q *Queue) open(om store.OutboxMail) (Message, error) {
	plain, err := seal.Open(q.key, om.Payload, []byte(om.ID))
	if err != nil {
		return Message{}, fmt.Errorf("mail: opening %s (was the key-encryption key changed?): %w", om.ID, err)
	}
	var m Message
	if err := json.Unmarshal(plain, &m); err != nil {
		return Message{}, fmt.Errorf("mail: decoding %s: %w", om.ID, err)
	}
	if m.ID != om.ID {
		return Message{}, fmt.Errorf("mail: record %s holds message %s", om.ID, m.ID)
	}
	return m, nil
}
