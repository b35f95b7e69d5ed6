package mail

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// testMTA is a real SMTP server (emersion/go-smtp) on a loopback port,
// recording every mail it accepts. Its behaviour is set per test through
// the hooks, which may be changed between deliveries.
type testMTA struct {
	t    *testing.T
	addr string
	srv  *smtp.Server

	mu       sync.Mutex
	received []receivedMail
	// rcptErr, when set, answers RCPT TO (nil accepts).
	rcptErr func(rcpt string) error
	// mailDelay holds the reply to MAIL FROM this long.
	mailDelay time.Duration
	// user and pass, when set, make AUTH PLAIN the only way in.
	user, pass string
}

// receivedMail is one accepted mail as the server saw it.
type receivedMail struct {
	From   string
	To     []string
	Data   []byte
	TLS    bool
	AuthAs string
}

// mtaOptions say how startMTA serves.
type mtaOptions struct {
	addr        string      // listen here (default a free loopback port)
	starttls    *tls.Config // offer STARTTLS with this
	implicitTLS *tls.Config // speak TLS from the first byte (smtps)
}

func startMTA(t *testing.T, o mtaOptions) *testMTA {
	t.Helper()
	if o.addr == "" {
		o.addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	m := &testMTA{t: t, addr: ln.Addr().String()}
	m.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &mtaSession{m: m, tls: isTLS || o.implicitTLS != nil, conn: c}, nil
	}))
	m.srv.Domain = "mta.test"
	m.srv.ReadTimeout, m.srv.WriteTimeout = 10*time.Second, 10*time.Second
	m.srv.ErrorLog = log.New(io.Discard, "", 0)
	m.srv.TLSConfig = o.starttls
	if o.implicitTLS != nil {
		ln = tls.NewListener(ln, o.implicitTLS)
	}
	go func() { _ = m.srv.Serve(ln) }()
	t.Cleanup(func() { _ = m.srv.Close() })
	return m
}

func (m *testMTA) mails() []receivedMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]receivedMail(nil), m.received...)
}

func (m *testMTA) set(f func(m *testMTA)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

type mtaSession struct {
	m      *testMTA
	conn   *smtp.Conn
	tls    bool
	authAs string
	from   string
	to     []string
}

var _ smtp.AuthSession = (*mtaSession)(nil)

func (s *mtaSession) AuthMechanisms() []string {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.m.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *mtaSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		s.m.mu.Lock()
		defer s.m.mu.Unlock()
		if user != s.m.user || pass != s.m.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.authAs = user
		return nil
	}), nil
}

func (s *mtaSession) Mail(from string, _ *smtp.MailOptions) error {
	s.m.mu.Lock()
	delay, needAuth := s.m.mailDelay, s.m.user != ""
	s.m.mu.Unlock()
	if needAuth && s.authAs == "" {
		return smtp.ErrAuthRequired
	}
	time.Sleep(delay)
	s.from = from
	return nil
}

func (s *mtaSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.m.mu.Lock()
	f := s.m.rcptErr
	s.m.mu.Unlock()
	if f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *mtaSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if _, ok := s.conn.TLSConnectionState(); ok {
		s.tls = true // upgraded with STARTTLS
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.m.received = append(s.m.received, receivedMail{From: s.from, To: s.to, Data: b, TLS: s.tls, AuthAs: s.authAs})
	return nil
}

func (s *mtaSession) Reset()        { s.from, s.to = "", nil }
func (s *mtaSession) Logout() error { return nil }

// testCert returns a server TLS config with a fresh self-signed
// certificate for 127.0.0.1, and a client config that trusts only it.
func testCert(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mta.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// freeAddr returns a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// errTemp and errPerm are the MTA's refusals of a recipient.
var (
	errTemp = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	errPerm = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
)
