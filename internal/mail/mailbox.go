package mail

import (
	"context"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// MailboxOptions configures a Mailbox.
type MailboxOptions struct {
	// Dir receives one .eml file per mail (<data-dir>/mail); it is
	// created, private to the server's user, if missing.
	Dir string
	// From is the sender address written in each mail.
	From string
	// Log receives one line per mail, with its link; nil discards it.
	Log *slog.Logger
	// Now names the files and dates the mails; nil means time.Now.
	Now func() time.Time
}

// Mailbox is the development sender, used when no --smtp-url is given:
// each mail is logged, its link visible, and written to Dir as an .eml
// file whose name sorts by time (20261206T060802.123456789Z-<id>.eml),
// through a temporary file renamed into place so that a reader never sees
// half a mail. The files hold live secrets and are readable by the
// server's user only.
type Mailbox struct {
	dir  string
	from *netmail.Address
	log  *slog.Logger
	now  func() time.Time
}

var _ Sender = (*Mailbox)(nil)

// NewMailbox checks o and creates the directory.
func NewMailbox(o MailboxOptions) (*Mailbox, error) {
	from, err := ParseFrom(o.From)
	if err != nil {
		return nil, err
	}
	if o.Dir == "" {
		return nil, fmt.Errorf("mail: dev mailbox needs a directory")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail: dev mailbox: %w", err)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Mailbox{dir: o.Dir, from: from, log: o.Log, now: o.Now}, nil
}

// Dir returns the directory the mails are written to.
func (b *Mailbox) Dir() string { return b.dir }

// Send writes m to the directory and to the log.
func (b *Mailbox) Send(ctx context.Context, m Message) error {
	now := b.now().UTC()
	msg, err := compose(b.from, m, now)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	name := now.Format("20060102T150405.000000000Z") + "-" + m.ID + ".eml"
	tmp, err := os.CreateTemp(b.dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("mail: dev mailbox: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("mail: dev mailbox: writing %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("mail: dev mailbox: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mail: dev mailbox: %w", err)
	}
	path := filepath.Join(b.dir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("mail: dev mailbox: %w", err)
	}
	attrs := []any{"kind", string(m.Kind), "to", m.To, "subject", m.Subject, "file", path}
	if l := tokenLink(m.Text); l != "" {
		attrs = append(attrs, "link", l)
	}
	b.log.InfoContext(ctx, "mail: written to the dev mailbox (no --smtp-url)", attrs...)
	return nil
}

// tokenLink returns the first URL of text that carries a token, or "".
func tokenLink(text string) string {
	for _, f := range strings.Fields(text) {
		if strings.Contains(f, "://") && strings.Contains(f, "?token=") {
			return f
		}
	}
	return ""
}
