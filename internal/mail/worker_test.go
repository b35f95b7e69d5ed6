package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/seal"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/syncbuf"
)

const testFrom = "Acme ID <no-reply@id.example.com>"

func testKEK(t *testing.T) [seal.KeySize]byte { return testKey(t, "kek") }

func testKey(t *testing.T, secret string) [seal.KeySize]byte {
	t.Helper()
	k, err := seal.DeriveKey("test", []byte(secret+" for the mail tests"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newTestQueue is NewQueue, failing the test on an error.
func newTestQueue(t *testing.T, out store.MailOutbox, kek [seal.KeySize]byte, now func() time.Time) *Queue {
	t.Helper()
	q, err := NewQueue(out, kek, now)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// smtpSenderTo returns an SMTP sender for the URL, with short timeouts.
func smtpSenderTo(t *testing.T, rawURL string, clientTLS *tls.Config) *SMTPSender {
	t.Helper()
	cfg, err := ParseSMTPURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSMTPSender(SMTPOptions{Server: cfg, From: testFrom, ConnectTimeout: 2 * time.Second, SendTimeout: 5 * time.Second, TLSConfig: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// workerFixture is an outbox, a queue on it and a worker.
type workerFixture struct {
	out   *memOutbox
	q     *Queue
	w     *Worker
	clock *clocktest.Clock
	logs  *syncbuf.Buffer
}

func newWorkerFixture(t *testing.T, out *memOutbox, sender Sender, instance string, mut func(*WorkerConfig)) *workerFixture {
	t.Helper()
	f := &workerFixture{out: out, clock: clocktest.New(clocktest.Epoch), logs: &syncbuf.Buffer{}}
	f.q = newTestQueue(t, out, testKEK(t), f.clock.Now)
	cfg := WorkerConfig{Instance: instance, Now: f.clock.Now, Log: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mut != nil {
		mut(&cfg)
	}
	w, err := NewWorker(f.q, sender, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.w = w
	return f
}

// enqueueRecovery renders a recovery mail to alice and enqueues it.
func (f *workerFixture) enqueueRecovery(t *testing.T, secret string) Message {
	t.Helper()
	m, err := loadTestTemplates(t, "").Render(KindRecoverPassword, "alice@example.com", Data{Email: "alice@example.com", Secret: secret, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.q.Enqueue(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (f *workerFixture) runOnce(t *testing.T, wantClaimed int) {
	t.Helper()
	n, err := f.w.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if n != wantClaimed {
		t.Fatalf("RunOnce claimed %d mails, want %d", n, wantClaimed)
	}
}

func (f *workerFixture) mail(t *testing.T, id string) store.OutboxMail {
	t.Helper()
	m, err := f.out.GetMail(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWorkerDeliversOverSMTP(t *testing.T) {
	mta := startMTA(t, mtaOptions{})
	f := newWorkerFixture(t, newMemOutbox(), smtpSenderTo(t, "smtp://"+mta.addr, nil), "w1", nil)
	m := f.enqueueRecovery(t, testSecret)
	f.runOnce(t, 1)
	got := mta.mails()
	if len(got) != 1 {
		t.Fatalf("the MTA received %d mails, want 1", len(got))
	}
	if got[0].From != "no-reply@id.example.com" || len(got[0].To) != 1 || got[0].To[0] != "alice@example.com" {
		t.Errorf("envelope from %q to %q", got[0].From, got[0].To)
	}
	text, html := checkMIME(t, got[0].Data, "alice@example.com")
	link := "https://id.example.com/recover?token=" + testSecret
	if strings.Count(text, link) != 1 || !strings.Contains(html, `href="`+link+`"`) {
		t.Errorf("parts lack the link %s:\n%s\n%s", link, text, html)
	}
	msg, _ := netmail.ReadMessage(bytes.NewReader(got[0].Data))
	if id := msg.Header.Get("Message-Id"); id != "<"+m.ID+"@id.example.com>" {
		t.Errorf("Message-ID %q, want <%s@id.example.com>", id, m.ID)
	}
	if s := msg.Header.Get("Subject"); s != m.Subject {
		t.Errorf("Subject %q, want %q", s, m.Subject)
	}
	if from, _ := msg.Header.AddressList("From"); len(from) != 1 || from[0].Name != "Acme ID" {
		t.Errorf("From %v", from)
	}
	om := f.mail(t, m.ID)
	if om.State != store.MailSent || len(om.Payload) != 0 {
		t.Errorf("outbox record after delivery: %+v", om)
	}
	f.clock.Advance(time.Hour)
	f.runOnce(t, 0)
	if n := len(mta.mails()); n != 1 {
		t.Errorf("the MTA received %d mails after a second round, want 1", n)
	}
}

func TestWorkerRetriesWhileTheServerIsDown(t *testing.T) {
	addr := freeAddr(t)
	f := newWorkerFixture(t, newMemOutbox(), smtpSenderTo(t, "smtp://"+addr, nil), "w1", nil)
	m := f.enqueueRecovery(t, testSecret)
	start := f.clock.Now()
	f.runOnce(t, 1) // connection refused
	om := f.mail(t, m.ID)
	if om.State != store.MailPending || om.Attempts != 1 || om.LastError == "" {
		t.Fatalf("after a refused connection: %+v", om)
	}
	if d := om.NextAttemptAt.Sub(start); d < 15*time.Second || d > 30*time.Second {
		t.Errorf("first retry in %v, want 15s to 30s (30s base, equal jitter)", d)
	}
	f.runOnce(t, 0) // not due yet
	mta := startMTA(t, mtaOptions{addr: addr})
	f.clock.Advance(30 * time.Second)
	f.runOnce(t, 1)
	f.clock.Advance(time.Hour)
	f.runOnce(t, 0)
	if n := len(mta.mails()); n != 1 {
		t.Fatalf("the MTA received %d mails, want exactly 1", n)
	}
	if om := f.mail(t, m.ID); om.State != store.MailSent || om.Attempts != 2 {
		t.Fatalf("after the server came up: %+v", om)
	}
}

func TestWorkerTimesOutOnASlowServerAndRetries(t *testing.T) {
	mta := startMTA(t, mtaOptions{})
	mta.set(func(m *testMTA) { m.mailDelay = 3 * time.Second })
	cfg, _ := ParseSMTPURL("smtp://" + mta.addr)
	sender, err := NewSMTPSender(SMTPOptions{Server: cfg, From: testFrom, ConnectTimeout: 300 * time.Millisecond, SendTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f := newWorkerFixture(t, newMemOutbox(), sender, "w1", nil)
	m := f.enqueueRecovery(t, testSecret)
	began := time.Now()
	f.runOnce(t, 1)
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("a delivery to a stalled server took %v, want about the 500ms send timeout", d)
	}
	if om := f.mail(t, m.ID); om.State != store.MailPending || !strings.Contains(om.LastError, "timeout") {
		t.Fatalf("after the timeout: %+v", om)
	}
	mta.set(func(m *testMTA) { m.mailDelay = 0 })
	f.clock.Advance(time.Minute)
	f.runOnce(t, 1)
	if n := len(mta.mails()); n != 1 {
		t.Fatalf("the MTA received %d mails, want 1", n)
	}
}

func TestWorkerPermanentRejectionIsDead(t *testing.T) {
	mta := startMTA(t, mtaOptions{})
	mta.set(func(m *testMTA) { m.rcptErr = func(string) error { return errPerm } })
	f := newWorkerFixture(t, newMemOutbox(), smtpSenderTo(t, "smtp://"+mta.addr, nil), "w1", nil)
	m := f.enqueueRecovery(t, testSecret)
	f.runOnce(t, 1)
	om := f.mail(t, m.ID)
	if om.State != store.MailDead || om.Attempts != 1 || !strings.Contains(om.LastError, "550") || len(om.Payload) != 0 {
		t.Fatalf("after a 550: %+v", om)
	}
	if !strings.Contains(f.logs.String(), "level=ERROR") || !strings.Contains(f.logs.String(), "will not be retried") {
		t.Errorf("a dead mail was not logged loudly:\n%s", f.logs)
	}
	f.clock.Advance(1000 * time.Hour)
	f.runOnce(t, 0)
	if n := len(mta.mails()); n != 0 {
		t.Fatalf("the MTA received %d mails", n)
	}
}

func TestWorkerTemporaryRejectionIsRetried(t *testing.T) {
	mta := startMTA(t, mtaOptions{})
	refusals := 2
	mta.set(func(m *testMTA) {
		m.rcptErr = func(string) error {
			if refusals > 0 {
				refusals--
				return errTemp
			}
			return nil
		}
	})
	f := newWorkerFixture(t, newMemOutbox(), smtpSenderTo(t, "smtp://"+mta.addr, nil), "w1", nil)
	m := f.enqueueRecovery(t, testSecret)
	for i := range 2 {
		f.runOnce(t, 1)
		if om := f.mail(t, m.ID); om.State != store.MailPending || !strings.Contains(om.LastError, "451") {
			t.Fatalf("after 451 number %d: %+v", i+1, om)
		}
		f.clock.Advance(time.Hour)
	}
	f.runOnce(t, 1)
	if om := f.mail(t, m.ID); om.State != store.MailSent || om.Attempts != 3 {
		t.Fatalf("after the third attempt: %+v", om)
	}
	if n := len(mta.mails()); n != 1 {
		t.Fatalf("the MTA received %d mails, want 1", n)
	}
}

func TestWorkerGivesUpAfterMaxAttempts(t *testing.T) {
	mta := startMTA(t, mtaOptions{})
	mta.set(func(m *testMTA) { m.rcptErr = func(string) error { return errTemp } })
	f := newWorkerFixture(t, newMemOutbox(), smtpSenderTo(t, "smtp://"+mta.addr, nil), "w1", func(c *WorkerConfig) { c.MaxAttempts = 3 })
	m := f.enqueueRecovery(t, testSecret)
	for range 3 {
		f.runOnce(t, 1)
		f.clock.Advance(2 * time.Hour)
	}
	om := f.mail(t, m.ID)
	if om.State != store.MailDead || om.Attempts != 3 {
		t.Fatalf("after 3 temporary failures with MaxAttempts 3: %+v", om)
	}
	if !strings.Contains(f.logs.String(), "last attempt") {
		t.Errorf("giving up was not logged:\n%s", f.logs)
	}
	f.runOnce(t, 0)
}

func TestSMTPStartTLSWithAuthPlain(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	mta := startMTA(t, mtaOptions{starttls: serverTLS})
	mta.set(func(m *testMTA) { m.user, m.pass = "mailer", "pa:ss w0rd" })
	m, err := loadTestTemplates(t, "").Render(KindVerifyEmail, "bob@example.com", Data{Email: "bob@example.com", Secret: testSecret, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	good := smtpSenderTo(t, "smtp://mailer:pa%3Ass%20w0rd@"+mta.addr+"?starttls=required", clientTLS)
	if err := good.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := mta.mails()
	if len(got) != 1 || !got[0].TLS || got[0].AuthAs != "mailer" {
		t.Fatalf("received %+v: want one mail over TLS, authenticated as mailer", got)
	}

	t.Run("wrong password is not delivered and may be retried", func(t *testing.T) {
		bad := smtpSenderTo(t, "smtp://mailer:nope@"+mta.addr, clientTLS)
		err := bad.Send(t.Context(), m)
		if err == nil || errors.Is(err, ErrPermanent) {
			t.Fatalf("Send with a wrong password: %v, want a retryable error", err)
		}
	})
	t.Run("an untrusted certificate is refused, not downgraded", func(t *testing.T) {
		untrusting := smtpSenderTo(t, "smtp://mailer:pa%3Ass%20w0rd@"+mta.addr, nil) // system roots
		if err := untrusting.Send(t.Context(), m); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Send to a server with an unknown certificate: %v, want a certificate error", err)
		}
	})
	if n := len(mta.mails()); n != 1 {
		t.Fatalf("the MTA received %d mails, want 1", n)
	}
}

func TestSMTPRequiredStartTLSRefusesAPlainServer(t *testing.T) {
	mta := startMTA(t, mtaOptions{})
	s := smtpSenderTo(t, "smtp://"+mta.addr+"?starttls=required", nil)
	m := Message{ID: NewMessageID(), Kind: KindPasswordChanged, To: "a@example.com", Subject: "s", Text: "t", HTML: "<p>h</p>"}
	if err := s.Send(t.Context(), m); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send: %v, want a STARTTLS error", err)
	}
	if n := len(mta.mails()); n != 0 {
		t.Fatalf("the MTA received %d mails over plain text", n)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	mta := startMTA(t, mtaOptions{implicitTLS: serverTLS})
	s := smtpSenderTo(t, "smtps://"+mta.addr, clientTLS)
	m := Message{ID: NewMessageID(), Kind: KindPasswordChanged, To: "a@example.com", Subject: "s", Text: "t", HTML: "<p>h</p>"}
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := mta.mails(); len(got) != 1 || !got[0].TLS {
		t.Fatalf("received %+v, want one mail over TLS", got)
	}
}

func TestTwoWorkersSendEachMailOnce(t *testing.T) {
	out := newMemOutbox()
	twoWorkersSendEachMailOnce(t, out, out)
}

// twoWorkersSendEachMailOnce runs two instances' workers, each on its own
// handle of one outbox, against one SMTP server, and checks that the
// server receives each of 30 mails exactly once.
func twoWorkersSendEachMailOnce(t *testing.T, outA, outB store.MailOutbox) {
	mta := startMTA(t, mtaOptions{})
	sender := smtpSenderTo(t, "smtp://"+mta.addr, nil)
	var queues []*Queue
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for i, name := range []string{"instance-a", "instance-b"} {
		q := newTestQueue(t, []store.MailOutbox{outA, outB}[i], testKEK(t), nil)
		w, err := NewWorker(q, sender, WorkerConfig{Instance: name, Interval: 20 * time.Millisecond, Batch: 3})
		if err != nil {
			t.Fatal(err)
		}
		queues = append(queues, q)
		wg.Go(func() { _ = w.Run(ctx) })
	}
	const n = 30
	want := map[string]bool{}
	for i := range n {
		m := Message{ID: NewMessageID(), Kind: KindPasswordChanged, To: "a@example.com", Subject: "s", Text: "t", HTML: "<p>h</p>"}
		want["<"+m.ID+"@id.example.com>"] = true
		if err := queues[i%2].Enqueue(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(mta.mails()) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // room for a duplicate to show
	cancel()
	wg.Wait()
	got := mta.mails()
	seen := map[string]int{}
	for _, r := range got {
		msg, err := netmail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatal(err)
		}
		seen[msg.Header.Get("Message-Id")]++
	}
	if len(got) != n || len(seen) != n {
		t.Fatalf("the MTA received %d mails, %d distinct; want each of %d exactly once", len(got), len(seen), n)
	}
	for id, c := range seen {
		if !want[id] || c != 1 {
			t.Errorf("mail %s received %d times", id, c)
		}
	}
}

func TestWorkerStopsGracefully(t *testing.T) {
	mta := startMTA(t, mtaOptions{})
	mta.set(func(m *testMTA) { m.mailDelay = 300 * time.Millisecond })
	out := newMemOutbox()
	q := newTestQueue(t, out, testKEK(t), nil)
	w, err := NewWorker(q, smtpSenderTo(t, "smtp://"+mta.addr, nil), WorkerConfig{Instance: "w1", Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 3 {
		m := Message{ID: NewMessageID(), Kind: KindPasswordChanged, To: "a@example.com", Subject: "s", Text: "t", HTML: "<p>h</p>"}
		ids = append(ids, m.ID)
		if err := q.Enqueue(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	time.Sleep(100 * time.Millisecond) // the first delivery is in flight
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if n := len(mta.mails()); n != 1 {
		t.Fatalf("the MTA received %d mails, want the one in flight", n)
	}
	if om, _ := out.GetMail(t.Context(), ids[0]); om.State != store.MailSent {
		t.Errorf("the mail in flight: %+v, want sent", om)
	}
	for _, id := range ids[1:] {
		om, _ := out.GetMail(t.Context(), id)
		if om.State != store.MailPending || om.LeaseHolder != "" || om.NextAttemptAt.After(time.Now()) {
			t.Errorf("a mail not started: %+v, want pending, unleased and due", om)
		}
	}
}

func TestWorkerMarksAnUnopenableMailDead(t *testing.T) {
	out := newMemOutbox()
	f := newWorkerFixture(t, out, &Mailbox{}, "w1", nil)
	other := newTestQueue(t, out, testKey(t, "another kek"), f.clock.Now)
	m := Message{ID: NewMessageID(), Kind: KindPasswordChanged, To: "a@example.com", Subject: "s", Text: "t", HTML: "h"}
	if err := other.Enqueue(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	f.runOnce(t, 1)
	if om := f.mail(t, m.ID); om.State != store.MailDead || !strings.Contains(om.LastError, "key-encryption key") {
		t.Fatalf("a mail sealed under another key: %+v, want dead", om)
	}
}

func TestBackoff(t *testing.T) {
	w, err := NewWorker(newTestQueue(t, newMemOutbox(), testKEK(t), nil), &Mailbox{}, WorkerConfig{Instance: "w"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		attempt int
		max     time.Duration
	}{
		{1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {5, 8 * time.Minute},
		{7, 32 * time.Minute}, {8, time.Hour}, {50, time.Hour},
	}
	for _, tt := range tests {
		for range 50 {
			if d := w.backoff(tt.attempt); d < tt.max/2 || d > tt.max {
				t.Fatalf("backoff(%d) = %v, want between %v and %v", tt.attempt, d, tt.max/2, tt.max)
			}
		}
	}
}

// TestAMailClaimedByACrashedInstanceIsSentOnce: an instance claims a
// mail and dies before sending it; once its lease lapses another
// instance delivers it, once.
func TestAMailClaimedByACrashedInstanceIsSentOnce(t *testing.T) {
	mta := startMTA(t, mtaOptions{})
	f := newWorkerFixture(t, newMemOutbox(), smtpSenderTo(t, "smtp://"+mta.addr, nil), "survivor", func(c *WorkerConfig) { c.Lease = time.Minute })
	m := f.enqueueRecovery(t, testSecret)
	if got, err := f.out.ClaimMails(t.Context(), "crashed", f.clock.Now(), time.Minute, 10); err != nil || len(got) != 1 {
		t.Fatalf("the crashed instance's claim: %v %v", got, err)
	}
	f.runOnce(t, 0) // leased to the crashed instance
	f.clock.Advance(time.Minute)
	f.runOnce(t, 1)
	f.clock.Advance(time.Hour)
	f.runOnce(t, 0)
	if n := len(mta.mails()); n != 1 {
		t.Fatalf("the MTA received %d mails, want 1", n)
	}
	if om := f.mail(t, m.ID); om.State != store.MailSent || om.Attempts != 2 {
		t.Fatalf("%+v", om)
	}
}

// slowSender takes d of the test clock per mail and records what it sent.
type slowSender struct {
	clock *clocktest.Clock
	d     time.Duration
	mu    sync.Mutex
	sent  []string
}

func (s *slowSender) Send(_ context.Context, m Message) error {
	s.clock.Advance(s.d)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m.ID)
	return nil
}

// TestWorkerSendsNoMailOnAShortLease: a batch whose deliveries take long
// hands back the mails whose leases would lapse during their delivery,
// instead of sending a mail another instance may have claimed.
func TestWorkerSendsNoMailOnAShortLease(t *testing.T) {
	clock := clocktest.New(clocktest.Epoch)
	sender := &slowSender{clock: clock, d: 70 * time.Second}
	out := newMemOutbox()
	q := newTestQueue(t, out, testKEK(t), clock.Now)
	w, err := NewWorker(q, sender, WorkerConfig{Instance: "w1", Now: clock.Now, Lease: 2 * time.Minute, Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 3 {
		m := Message{ID: NewMessageID(), Kind: KindPasswordChanged, To: "a@example.com", Subject: "s", Text: "t", HTML: "h"}
		ids = append(ids, m.ID)
		if err := q.Enqueue(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Millisecond) // claims take them in this order
	}
	if n, err := w.RunOnce(t.Context()); err != nil || n != 3 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if len(sender.sent) != 1 || sender.sent[0] != ids[0] {
		t.Fatalf("sent %q, want only the first mail (the others' leases had 50s left)", sender.sent)
	}
	for _, id := range ids[1:] {
		om, _ := out.GetMail(t.Context(), id)
		if om.State != store.MailPending || om.LeaseHolder != "" || om.NextAttemptAt.After(clock.Now()) {
			t.Errorf("a mail not started: %+v, want handed back, due now", om)
		}
	}
}
