package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTPOptions configures an SMTPSender.
type SMTPOptions struct {
	// Server is where to connect (ParseSMTPURL of --smtp-url).
	Server SMTPConfig
	// From (--mail-from) is the sender address of every mail.
	From string
	// ConnectTimeout (default 10s) bounds the connection and TLS
	// handshake, and each SMTP command's reply.
	ConnectTimeout time.Duration
	// SendTimeout (default 60s) bounds one whole delivery, from dial to
	// the server's reply to the end of DATA.
	SendTimeout time.Duration
	// TLSConfig, when set, replaces the default TLS settings (the system
	// roots, ServerName = Server.Host, TLS 1.2 or later); tests give
	// their own root CA here.
	TLSConfig *tls.Config
	// Log receives a warning when the connection does not close cleanly
	// after a delivery; nil discards it.
	Log *slog.Logger
	// Now is the clock of the Date header; nil means time.Now.
	Now func() time.Time
}

// SMTPSender delivers mails to an SMTP server, one connection per mail.
// It is safe for concurrent use.
type SMTPSender struct {
	opts SMTPOptions
	from *netmail.Address
}

var _ Sender = (*SMTPSender)(nil)

// NewSMTPSender checks o and returns a sender; it does not connect.
func NewSMTPSender(o SMTPOptions) (*SMTPSender, error) {
	from, err := ParseFrom(o.From)
	if err != nil {
		return nil, err
	}
	if o.Server.Host == "" || o.Server.Port == 0 {
		return nil, errors.New("mail: SMTP sender needs a server")
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = time.Minute
	}
	if o.TLSConfig == nil {
		o.TLSConfig = &tls.Config{ServerName: o.Server.Host, MinVersion: tls.VersionTLS12}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &SMTPSender{opts: o, from: from}, nil
}

// Send delivers m. A 5xx reply to MAIL FROM, RCPT TO or DATA wraps
// ErrPermanent; every other failure (connection refused, timeout, 4xx,
// TLS or AUTH trouble) is worth a retry. Once the server has accepted
// the message, a failure to close the connection is logged, not
// returned, so that the mail is not sent again.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	msg, err := compose(s.from, m, s.opts.Now())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.SendTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	o := s.opts
	copts := []gomail.Option{
		gomail.WithPort(o.Server.Port),
		gomail.WithTimeout(o.ConnectTimeout),
		gomail.WithTLSConfig(o.TLSConfig),
		gomail.WithDialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
			return s.dial(ctx, network, addr, deadline)
		}),
	}
	switch {
	case o.Server.ImplicitTLS:
		// dial speaks TLS itself; WithSSL keeps go-mail from STARTTLS.
		copts = append(copts, gomail.WithSSL())
	case o.Server.RequireTLS:
		copts = append(copts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		copts = append(copts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if o.Server.Username != "" {
		copts = append(copts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(o.Server.Username), gomail.WithPassword(o.Server.Password))
	}
	client, err := gomail.NewClient(o.Server.Host, copts...)
	if err != nil {
		return fmt.Errorf("mail: SMTP client: %w", err)
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("mail: connecting to %s: %w", o.Server.Address(), err)
	}
	if err := client.SendWithSMTPClient(conn, msg); err != nil {
		_ = client.CloseWithSMTPClient(conn)
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
			return fmt.Errorf("%w: %s: %w", ErrPermanent, o.Server.Address(), err)
		}
		return fmt.Errorf("mail: sending through %s: %w", o.Server.Address(), err)
	}
	if err := client.CloseWithSMTPClient(conn); err != nil {
		o.Log.Warn("mail: SMTP connection did not close cleanly after delivery", "mail", m.ID, "err", err)
	}
	return nil
}

// dial connects to the server, with TLS from the first byte for smtps.
// Every deadline go-mail sets on the connection is capped at the
// delivery's deadline, so a server that trickles replies cannot hold a
// delivery past SendTimeout.
func (s *SMTPSender) dial(ctx context.Context, network, addr string, deadline time.Time) (net.Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	conn := &cappedConn{Conn: raw, limit: deadline}
	if err := conn.SetDeadline(deadline); err != nil {
		raw.Close()
		return nil, err
	}
	if !s.opts.Server.ImplicitTLS {
		return conn, nil
	}
	tc := tls.Client(conn, s.opts.TLSConfig)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}

// cappedConn caps every deadline at limit.
type cappedConn struct {
	net.Conn
	limit time.Time
}

func (c *cappedConn) cap(t time.Time) time.Time {
	if t.IsZero() || t.After(c.limit) {
		return c.limit
	}
	return t
}

func (c *cappedConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.cap(t)) }
func (c *cappedConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.cap(t)) }
func (c *cappedConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.cap(t)) }
