package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/seal"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// wireMail builds the mail templates, the sender (SMTP with --smtp-url,
// else the dev mailbox in <data-dir>/mail), the outbox queue and its
// worker, which Serve runs. Bad templates or mail settings fail here, at
// start-up. Without an outbox store mail stays off.
func (a *App) wireMail(ctx context.Context, outbox store.MailOutbox, kek [seal.KeySize]byte, log *slog.Logger, now func() time.Time) error {
	if outbox == nil {
		return nil
	}
	cfg := a.Config
	tpl, err := mail.LoadTemplates(cfg.MailTemplateConfig())
	if err != nil {
		return err
	}
	sender, desc, err := mail.NewSender(mail.SenderConfig{SMTPURL: cfg.SMTPURL, From: cfg.MailFrom, MailDir: cfg.MailDir(), Log: log})
	if err != nil {
		return err
	}
	q, err := mail.NewQueue(outbox, kek, now)
	if err != nil {
		return err
	}
	w, err := mail.NewWorker(q, sender, mail.WorkerConfig{Instance: a.instanceID, Log: log, Now: now})
	if err != nil {
		return fmt.Errorf("mail worker: %w", err)
	}
	a.MailTemplates, a.MailQueue, a.mailWorker = tpl, q, w
	log.InfoContext(ctx, "mail", "sender", desc)
	return nil
}

// DeliverMail runs one round of the mail worker now: it delivers the
// mails that are due, as the worker Serve runs does every second, and
// returns how many it claimed. Tests call it instead of waiting.
func (a *App) DeliverMail(ctx context.Context) (int, error) {
	if a.mailWorker == nil {
		return 0, nil
	}
	return a.mailWorker.RunOnce(ctx)
}
