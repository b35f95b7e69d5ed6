package mail

import (
	"fmt"
	"log/slog"
)

// SenderConfig chooses and configures the sender of a server.
type SenderConfig struct {
	// SMTPURL (--smtp-url) selects SMTPSender; empty selects the Mailbox.
	SMTPURL string
	// From (--mail-from) is the sender address.
	From string
	// MailDir is the Mailbox's directory (<data-dir>/mail).
	MailDir string
	// Log receives the Mailbox's mails and the SMTP sender's warnings.
	Log *slog.Logger
}

// NewSender returns the SMTP sender of c.SMTPURL, or without one the
// development Mailbox, and a line describing it for the start-up banner
// (without the SMTP password).
func NewSender(c SenderConfig) (Sender, string, error) {
	if c.SMTPURL == "" {
		b, err := NewMailbox(MailboxOptions{Dir: c.MailDir, From: c.From, Log: c.Log})
		if err != nil {
			return nil, "", err
		}
		return b, "log and " + c.MailDir + " (no --smtp-url)", nil
	}
	server, err := ParseSMTPURL(c.SMTPURL)
	if err != nil {
		return nil, "", fmt.Errorf("--smtp-url: %w", err)
	}
	s, err := NewSMTPSender(SMTPOptions{Server: server, From: c.From, Log: c.Log})
	if err != nil {
		return nil, "", err
	}
	return s, server.Redacted(), nil
}
