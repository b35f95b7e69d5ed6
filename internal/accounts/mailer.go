package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// OutboxMailer is the Mailer of a server: it renders with the mail
// templates, seals with the mail queue, and stores each token with its
// mail in one transaction, so that a crash after a request's 202 can
// leave neither a token without its mail nor a mail without its token.
type OutboxMailer struct {
	templates *mail.Templates
	queue     *mail.Queue
	st        store.OneTimeTokenMailStore
	now       func() time.Time
}

var _ Mailer = (*OutboxMailer)(nil)

// NewOutboxMailer returns the Mailer on templates, queue and st. now may
// be nil for time.Now.
func NewOutboxMailer(templates *mail.Templates, queue *mail.Queue, st store.OneTimeTokenMailStore, now func() time.Time) *OutboxMailer {
	if now == nil {
		now = time.Now
	}
	return &OutboxMailer{templates: templates, queue: queue, st: st, now: now}
}

// render renders m.
func (o *OutboxMailer) render(m Mail) (mail.Message, error) {
	msg, err := o.templates.Render(mail.Kind(m.Kind), m.To, mail.Data{Email: m.To, NewEmail: m.NewEmail, Secret: m.Secret, ExpiresIn: m.ExpiresIn})
	if err != nil {
		return mail.Message{}, fmt.Errorf("accounts: render %s mail: %w", m.Kind, err)
	}
	return msg, nil
}

// prepare renders m and seals it for the outbox.
func (o *OutboxMailer) prepare(m Mail) (store.OutboxMail, error) {
	msg, err := o.render(m)
	if err != nil {
		return store.OutboxMail{}, err
	}
	return o.queue.Prepare(msg)
}

// SendWithToken implements Mailer: one transaction stores tok and the
// sealed mail.
func (o *OutboxMailer) SendWithToken(ctx context.Context, m Mail, tok store.OneTimeToken) error {
	om, err := o.prepare(m)
	if err != nil {
		return err
	}
	if err := o.st.CreateOneTimeTokenWithMail(ctx, tok, om); err != nil {
		return fmt.Errorf("accounts: store %s token and mail: %w", tok.Purpose, err)
	}
	o.queue.Notify()
	return nil
}

// Send implements Mailer.
func (o *OutboxMailer) Send(ctx context.Context, m Mail) error {
	msg, err := o.render(m)
	if err != nil {
		return err
	}
	return o.queue.Enqueue(ctx, msg)
}

// Rehearse implements Mailer: it renders and seals m and writes a token
// of no account and the mail, then deletes both, in one transaction
// (store.OneTimeTokenMailStore.RehearseOneTimeTokenWithMail), so that an
// unknown address costs what a known one does and leaves nothing
// behind.
func (o *OutboxMailer) Rehearse(ctx context.Context, m Mail) error {
	om, err := o.prepare(m)
	if err != nil {
		return err
	}
	_, hash := newSecret()
	now := o.now().UTC()
	tok := store.OneTimeToken{Hash: hash, Purpose: store.PurposeRecover, UserID: "-", Email: m.To, CreatedAt: now, ExpiresAt: now.Add(m.ExpiresIn)}
	if err := o.st.RehearseOneTimeTokenWithMail(ctx, tok, om); err != nil {
		return fmt.Errorf("accounts: rehearse recovery token and mail: %w", err)
	}
	return nil
}
