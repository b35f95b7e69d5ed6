package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// crashMTA is a real SMTP server (emersion/go-smtp) that counts the
// mails it accepts.
type crashMTA struct {
	mu   sync.Mutex
	data [][]byte
}

func (m *crashMTA) NewSession(*smtp.Conn) (smtp.Session, error) { return &crashSession{m: m}, nil }

type crashSession struct{ m *crashMTA }

func (s *crashSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *crashSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *crashSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.m.data = append(s.m.data, b)
	return nil
}
func (s *crashSession) Reset()        {}
func (s *crashSession) Logout() error { return nil }

// recoveryMails returns the accepted mails that carry a /recover link.
func (m *crashMTA) recoveryMails() [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][]byte
	for _, d := range m.data {
		if bytes.Contains(d, []byte("/recover?token=")) {
			out = append(out, d)
		}
	}
	return out
}

// TestRecoveryMailSurvivesSIGKILL: the server answers 202 to a recovery
// request while its SMTP server is down, and is killed with SIGKILL right
// after; restarted on the same data directory with the SMTP server up,
// it sends the recovery mail, exactly once, and its link works.
func TestRecoveryMailSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the mail worker's retry")
	}
	dataDir := t.TempDir()
	mtaAddr := freeAddr(t) // nothing listens there yet: the server is down
	addr := freeAddr(t)
	args := []string{"--addr", addr, "--data-dir", dataDir, "--smtp-url", "smtp://" + mtaAddr, "--mail-from", "Gatehouse <no-reply@gatehouse.test>"}
	s := startServer(t, t.TempDir(), addr, cleanEnv(), args...)
	const email, password = "crash-mail@example.com", "crash test password"
	st, b, _ := call(t, s, http.MethodPost, "/v1/signup", fmt.Sprintf(`{"email": %q, "password": %q}`, email, password), "", "")
	want(t, "signup", st, http.StatusCreated, b)
	st, b, _ = call(t, s, http.MethodPost, "/v1/recovery", fmt.Sprintf(`{"email": %q}`, email), "", "")
	want(t, "recovery request", st, http.StatusAccepted, b)
	s.kill(t)

	// The SMTP server comes up, then Gatehouse again.
	ln, err := net.Listen("tcp", mtaAddr)
	if err != nil {
		t.Fatal(err)
	}
	mta := &crashMTA{}
	srv := smtp.NewServer(mta)
	srv.Domain = "mta.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	s2 := startServer(t, t.TempDir(), addr, cleanEnv(), args...)

	// A delivery that failed before the kill is retried after its backoff
	// (at most 30 s); one cut off mid-delivery after its lease (2 min).
	deadline := time.Now().Add(3 * time.Minute)
	for len(mta.recoveryMails()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no recovery mail arrived within 3 minutes; stderr:\n%s", s2.stderr)
		}
		time.Sleep(100 * time.Millisecond) // polling a real process
	}
	time.Sleep(3 * time.Second) // a second send would come within the worker's poll
	got := mta.recoveryMails()
	if len(got) != 1 {
		t.Fatalf("%d recovery mails arrived, want exactly 1", len(got))
	}
	m := apptest.ParseMail(t, got[0])
	if m.Path != "recover" {
		t.Fatalf("recovery mail without a link:\n%s", got[0])
	}
	st, b, _ = call(t, s2, http.MethodPost, "/v1/recovery/confirm", fmt.Sprintf(`{"token": %q, "password": "a new crash password"}`, m.Token), "", "")
	want(t, "recovery confirm after the crash", st, http.StatusOK, b)
	login(t, s2, email, "a new crash password")
}
