package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/seal"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
	"github.com/gatehouse-auth/gatehouse/internal/webhook"
)

// TestSignStandardWebhooksVector checks Sign against the test vector of
// the Standard Webhooks reference libraries (svix-webhooks
// go/webhook_test.go, TestWebhookSign). The official Go library is not
// served by this build's module proxy, so receivers in these tests verify
// with verifySignature, written from the specification's text.
func TestSignStandardWebhooksVector(t *testing.T) {
	got, err := webhook.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`),
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
	if _, err := webhook.Sign("id", time.Unix(1, 0), nil, "not-a-secret"); !errors.Is(err, webhook.ErrBadSecret) {
		t.Fatalf("Sign with a bad secret: %v", err)
	}
	if s := webhook.NewSecret(); !strings.HasPrefix(s, "whsec_") || verifySignature(s, "m", "1", []byte("b"), mustSign(t, s, "m", 1, "b")) != nil {
		t.Fatalf("NewSecret %q does not sign verifiably", s)
	}
}

func mustSign(t *testing.T, secret, id string, ts int64, body string) string {
	t.Helper()
	sig, err := webhook.Sign(id, time.Unix(ts, 0), []byte(body), secret)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// verifySignature is a receiver's check, as the Standard Webhooks
// specification describes it: the base64-decoded key of the whsec_
// secret; HMAC-SHA256 over "id.timestamp.body"; the header holds
// space-separated "v1,<base64>" signatures, any one of which may match
// (compared in constant time).
func verifySignature(secret, id, ts string, body []byte, header string) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%s.%s", id, ts, body)
	want := m.Sum(nil)
	for _, part := range strings.Fields(header) {
		v, sig, ok := strings.Cut(part, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

// receiver is a webhook endpoint under test: it verifies every request
// with the secrets it knows, answers as told, and counts the messages it
// accepted by webhook-id (idempotency: a repeated id is acknowledged and
// not counted again).
type receiver struct {
	mu       sync.Mutex
	secrets  []string
	answer   func(n int, r *http.Request) int // status for the n-th request (from 1)
	requests int
	accepted map[string]int
	bodies   map[string][]byte
	bad      []string
}

func newReceiver() *receiver {
	return &receiver{accepted: map[string]int{}, bodies: map[string][]byte{}, answer: func(int, *http.Request) int { return 204 }}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.requests++
	n, answer, secrets := rc.requests, rc.answer, rc.secrets
	rc.mu.Unlock()
	status := answer(n, r)
	if status < 200 || status > 299 {
		w.WriteHeader(status)
		return
	}
	id, ts, sig := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	ok := false
	for _, s := range secrets {
		ok = ok || verifySignature(s, id, ts, body, sig) == nil
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !ok || r.Header.Get("Content-Type") != "application/json" {
		rc.bad = append(rc.bad, id)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rc.accepted[id]++
	rc.bodies[id] = body
	w.WriteHeader(status)
}

func (rc *receiver) setSecrets(s ...string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets = s
}

func (rc *receiver) setAnswer(f func(n int, r *http.Request) int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.answer = f
}

func (rc *receiver) snapshot() (accepted map[string]int, bad []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]int{}
	for k, v := range rc.accepted {
		out[k] = v
	}
	return out, append([]string(nil), rc.bad...)
}

// fixture is one instance's webhook machinery on a store.
type fixture struct {
	st     *sqlstore.Store
	clock  *clocktest.Clock
	kek    [seal.KeySize]byte
	eps    *webhook.Endpoints
	disp   *webhook.Dispatcher
	sender *webhook.Sender
	worker *outbox.Worker[store.Delivery]
}

func openStore(t *testing.T, path string) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

func newFixture(t *testing.T, st *sqlstore.Store, clock *clocktest.Clock, kek [seal.KeySize]byte, instance string, logout webhook.LogoutSigner) *fixture {
	t.Helper()
	f := &fixture{st: st, clock: clock, kek: kek}
	var err error
	if f.sender, err = webhook.NewSender(st, kek, webhook.SenderConfig{Logout: logout, Timeout: 500 * time.Millisecond, Now: clock.Now}); err != nil {
		t.Fatal(err)
	}
	if f.worker, err = outbox.NewWorker[store.Delivery](f.sender, outbox.Config{Name: "webhook", Instance: instance, Now: clock.Now,
		Lease: 30 * time.Second, BackoffBase: time.Second, BackoffMax: 10 * time.Second, MaxAttempts: 4}); err != nil {
		t.Fatal(err)
	}
	if f.disp, err = webhook.NewDispatcher(st, st, webhook.DispatcherConfig{Instance: instance, Now: clock.Now}); err != nil {
		t.Fatal(err)
	}
	if f.eps, err = webhook.NewEndpoints(st, kek, webhook.EndpointsConfig{Now: clock.Now, RotationGrace: time.Hour}); err != nil {
		t.Fatal(err)
	}
	return f
}

func newKEK(t *testing.T) [seal.KeySize]byte {
	var k [seal.KeySize]byte
	_, _ = rand.Read(k[:])
	return k
}

func newSingle(t *testing.T) *fixture {
	t.Helper()
	st := openStore(t, filepath.Join(t.TempDir(), "gatehouse.db"))
	return newFixture(t, st, clocktest.New(time.Now().UTC().Truncate(time.Millisecond)), newKEK(t), "i1", nil)
}

// appendEvent records an event as the audit trail does.
func (f *fixture) appendEvent(t *testing.T, ev audit.Event) int64 {
	t.Helper()
	if ev.Time.IsZero() {
		ev.Time = f.clock.Now()
	}
	seqs, err := f.st.AppendEvents(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return seqs[0]
}

// round runs one dispatch and one delivery round and returns how many
// deliveries were claimed.
func (f *fixture) round(t *testing.T) int {
	t.Helper()
	if _, err := f.disp.RunOnce(t.Context()); err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	n, err := f.worker.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("deliver: %v", err)
	}
	return n
}

func (f *fixture) register(t *testing.T, url string, types ...string) (store.WebhookEndpoint, string) {
	t.Helper()
	e, secret, err := f.eps.Create(t.Context(), webhook.Spec{URL: url, EventTypes: types})
	if err != nil {
		t.Fatal(err)
	}
	return e, secret
}

// receiverEndpoint starts a receiver for the test and registers it for
// every event type; the receiver checks signatures with its secret.
func (f *fixture) receiverEndpoint(t *testing.T) (*receiver, store.WebhookEndpoint) {
	t.Helper()
	rc := newReceiver()
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	e, secret := f.register(t, srv.URL)
	rc.setSecrets(secret)
	return rc, e
}

func (f *fixture) delivery(t *testing.T, e store.WebhookEndpoint, seq int64) store.Delivery {
	t.Helper()
	d, err := f.st.GetDelivery(t.Context(), e.ID+".evt_"+strconv.FormatInt(seq, 10))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func userEvent(typ, user string) audit.Event {
	return audit.Event{Type: typ, UserID: user, Actor: audit.Actor{Kind: audit.ActorAdmin}, Detail: map[string]string{"k": "v"}}
}

func TestDeliveryToADownReceiverIsRetriedUntilItIsUp(t *testing.T) {
	f := newSingle(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // down: connections are refused
	e, secret := f.register(t, "http://"+addr+"/hooks")
	seq := f.appendEvent(t, userEvent(audit.UserCreated, "u1"))

	if n := f.round(t); n != 1 {
		t.Fatalf("claimed %d, want 1", n)
	}
	d := f.delivery(t, e, seq)
	if d.State != store.DeliveryPending || d.Attempts != 1 || d.LastStatus != 0 || d.LastError == "" || !d.NextAttemptAt.After(f.clock.Now()) {
		t.Fatalf("after a refused connection: %+v", d)
	}

	rc := newReceiver()
	rc.setSecrets(secret)
	ln, err = net.Listen("tcp", addr) // up again, on the same address
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: rc}}
	srv.Start()
	defer srv.Close()
	if n := f.round(t); n != 0 {
		t.Fatalf("claimed %d before the backoff ended", n)
	}
	f.clock.Set(d.NextAttemptAt)
	if n := f.round(t); n != 1 {
		t.Fatalf("claimed %d after the backoff, want 1", n)
	}
	d = f.delivery(t, e, seq)
	if d.State != store.DeliveryDelivered || d.LastStatus != 204 || d.Attempts != 2 {
		t.Fatalf("after the receiver came up: %+v", d)
	}
	accepted, bad := rc.snapshot()
	if len(bad) != 0 || accepted["evt_"+strconv.FormatInt(seq, 10)] != 1 || len(accepted) != 1 {
		t.Fatalf("receiver accepted %v, refused %v", accepted, bad)
	}
	var msg struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      struct {
			Seq    int64             `json:"seq"`
			UserID string            `json:"user_id"`
			Actor  map[string]string `json:"actor"`
			Detail map[string]string `json:"detail"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rc.bodies["evt_"+strconv.FormatInt(seq, 10)], &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Type != audit.UserCreated || msg.Timestamp == "" || msg.Data.Seq != seq || msg.Data.UserID != "u1" || msg.Data.Actor["kind"] != "admin" || msg.Data.Detail["k"] != "v" {
		t.Fatalf("body = %+v", msg)
	}
}

func TestDeliveryRetriesA500AndASlowReceiverAndIsAcceptedOnce(t *testing.T) {
	f := newSingle(t)
	rc, e := f.receiverEndpoint(t)
	// 1: 500. 2: hang past the sender's timeout. 3: 200, but the
	// acknowledgement is "lost" for the sender (we then check the next
	// attempt is not made). The receiver dedupes by webhook-id anyway.
	rc.setAnswer(func(n int, r *http.Request) int {
		switch n {
		case 1:
			return 500
		case 2:
			<-r.Context().Done() // the sender gives up after its timeout
			return 500
		}
		return 200
	})
	seq := f.appendEvent(t, userEvent(audit.UserDisabled, "u2"))
	for attempt, want := range []int{500, 0} {
		f.round(t)
		d := f.delivery(t, e, seq)
		if d.State != store.DeliveryPending || d.LastStatus != want || d.Attempts != attempt+1 {
			t.Fatalf("attempt %d: %+v, want status %d", attempt+1, d, want)
		}
		if want == 0 && !strings.Contains(d.LastError, "Timeout") && !strings.Contains(d.LastError, "deadline") {
			t.Fatalf("attempt %d error %q, want a timeout", attempt+1, d.LastError)
		}
		f.clock.Set(d.NextAttemptAt)
	}
	f.round(t)
	d := f.delivery(t, e, seq)
	if d.State != store.DeliveryDelivered || d.LastStatus != 200 || d.Attempts != 3 {
		t.Fatalf("third attempt: %+v", d)
	}
	f.clock.Advance(time.Hour)
	if n := f.round(t); n != 0 {
		t.Fatalf("a delivered message was claimed again (%d)", n)
	}
	accepted, bad := rc.snapshot()
	if len(bad) != 0 || len(accepted) != 1 || accepted["evt_"+strconv.FormatInt(seq, 10)] != 1 {
		t.Fatalf("receiver accepted %v, refused %v", accepted, bad)
	}

	// The admin view lists the delivery; a delivered one cannot be retried.
	ds, err := f.eps.Deliveries(t.Context(), e.ID, 10)
	if err != nil || len(ds) != 1 || ds[0].State != store.DeliveryDelivered {
		t.Fatalf("Deliveries = %+v, %v", ds, err)
	}
	if _, err := f.eps.Retry(t.Context(), e.ID, ds[0].ID); !errors.Is(err, webhook.ErrNotDead) {
		t.Fatalf("Retry of a delivered message: %v", err)
	}
}

func TestDeadDeliveryIsRetriedByHand(t *testing.T) {
	f := newSingle(t)
	rc, e := f.receiverEndpoint(t)
	rc.setAnswer(func(int, *http.Request) int { return 503 })
	seq := f.appendEvent(t, userEvent(audit.UserDeleted, "u3"))
	for range 4 { // MaxAttempts
		f.round(t)
		f.clock.Set(f.delivery(t, e, seq).NextAttemptAt)
	}
	d := f.delivery(t, e, seq)
	if d.State != store.DeliveryDead || d.LastStatus != 503 || d.Attempts != 4 {
		t.Fatalf("after the last attempt: %+v", d)
	}
	if _, err := f.eps.Retry(t.Context(), "wh_other", d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Retry through another endpoint: %v", err)
	}
	rc.setAnswer(func(int, *http.Request) int { return 200 })
	if d, err := f.eps.Retry(t.Context(), e.ID, d.ID); err != nil || d.State != store.DeliveryPending || d.Attempts != 0 {
		t.Fatalf("Retry = %+v, %v", d, err)
	}
	f.round(t)
	if d := f.delivery(t, e, seq); d.State != store.DeliveryDelivered {
		t.Fatalf("after a manual retry: %+v", d)
	}
	if accepted, _ := rc.snapshot(); accepted["evt_"+strconv.FormatInt(seq, 10)] != 1 {
		t.Fatalf("receiver accepted %v", accepted)
	}
}

func TestEndpointsFilterTypesAndSkipDisabledAndOlderEvents(t *testing.T) {
	f := newSingle(t)
	rc := newReceiver()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	before := f.appendEvent(t, userEvent(audit.UserCreated, "early")) // before any endpoint existed
	f.clock.Advance(time.Second)
	all, s1 := f.register(t, srv.URL+"/all")
	only, s2 := f.register(t, srv.URL+"/only", audit.UserDisabled)
	off, s3 := f.register(t, srv.URL+"/off")
	rc.setSecrets(s1, s2, s3)
	enabled := false
	if _, err := f.eps.Update(t.Context(), off.ID, webhook.Patch{Enabled: &enabled}); err != nil {
		t.Fatal(err)
	}
	created := f.appendEvent(t, userEvent(audit.UserCreated, "u"))
	disabled := f.appendEvent(t, userEvent(audit.UserDisabled, "u"))
	for f.round(t) > 0 {
	}
	want := map[string]bool{
		all.ID + ".evt_" + strconv.FormatInt(created, 10):   true,
		all.ID + ".evt_" + strconv.FormatInt(disabled, 10):  true,
		only.ID + ".evt_" + strconv.FormatInt(disabled, 10): true,
	}
	for _, e := range []store.WebhookEndpoint{all, only, off} {
		ds, err := f.st.ListDeliveries(t.Context(), store.DeliveryWebhook, e.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if !want[d.ID] || d.State != store.DeliveryDelivered {
				t.Errorf("unexpected delivery %s (%s)", d.ID, d.State)
			}
			delete(want, d.ID)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing deliveries %v (the event before the endpoints, %d, must not be sent)", want, before)
	}
}

func TestSecretRotationSignsWithBothSecretsDuringTheGrace(t *testing.T) {
	f := newSingle(t)
	type seen struct {
		sig, id, ts string
		body        []byte
	}
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Header.Get("webhook-signature"), r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), b})
		mu.Unlock()
	}))
	defer srv.Close()
	e, old := f.register(t, srv.URL)
	e2, fresh, err := f.eps.RotateSecret(t.Context(), e.ID)
	if err != nil || fresh == old || !e2.PreviousUntil.After(f.clock.Now()) {
		t.Fatalf("RotateSecret = %+v, %q, %v", e2, fresh, err)
	}
	f.appendEvent(t, userEvent(audit.UserUpdated, "u"))
	f.round(t)
	f.clock.Advance(2 * time.Hour) // past the grace
	f.appendEvent(t, userEvent(audit.UserUpdated, "u"))
	f.round(t)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("got %d requests", len(got))
	}
	if n := len(strings.Fields(got[0].sig)); n != 2 {
		t.Fatalf("during the grace: %d signatures, want 2", n)
	}
	for _, s := range []string{old, fresh} {
		if err := verifySignature(s, got[0].id, got[0].ts, got[0].body, got[0].sig); err != nil {
			t.Errorf("during the grace, a secret does not verify: %v", err)
		}
	}
	if err := verifySignature(old, got[1].id, got[1].ts, got[1].body, got[1].sig); err == nil {
		t.Error("after the grace, the old secret still verifies")
	}
	if err := verifySignature(fresh, got[1].id, got[1].ts, got[1].body, got[1].sig); err != nil {
		t.Errorf("after the grace, the new secret does not verify: %v", err)
	}
	// The database never holds a secret in the clear.
	row := f.st.DB().QueryRowContext(t.Context(), `SELECT secret, previous_secret FROM webhook_endpoints WHERE id = ?`, e.ID)
	var a, b []byte
	if err := row.Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(a)+string(b), strings.TrimPrefix(fresh, "whsec_")) || strings.Contains(string(a)+string(b), strings.TrimPrefix(old, "whsec_")) {
		t.Fatal("a secret is stored in the clear")
	}
}

func TestRegistrationRefusesBadInput(t *testing.T) {
	f := newSingle(t)
	for name, spec := range map[string]webhook.Spec{
		"ftp":          {URL: "ftp://example.com/x"},
		"relative":     {URL: "/hooks"},
		"fragment":     {URL: "https://example.com/x#y"},
		"userinfo":     {URL: "https://u:p@example.com/x"},
		"unknown type": {URL: "https://example.com/x", EventTypes: []string{"user.exploded"}},
		"control":      {URL: "https://example.com/x", Description: "a\nb"},
	} {
		if _, _, err := f.eps.Create(t.Context(), spec); !errors.Is(err, webhook.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if es, _ := f.eps.List(t.Context()); len(es) != 0 {
		t.Fatalf("refused registrations stored: %+v", es)
	}
}

// TestACrashBetweenQueueAndDeliveryLosesNothing: an instance claims a
// delivery and dies before recording anything; another instance
// delivers it once the lease lapses. A dispatcher that dies after
// queueing and before moving its cursor queues nothing twice.
func TestACrashBetweenQueueAndDeliveryLosesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	clock := clocktest.New(time.Now().UTC().Truncate(time.Millisecond))
	kek := newKEK(t)
	a := newFixture(t, openStore(t, path), clock, kek, "a", nil)
	rc, e := a.receiverEndpoint(t)
	seq := a.appendEvent(t, userEvent(audit.UserCreated, "u"))
	if _, err := a.disp.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	// "a" claims and dies: the claim is never recorded.
	if got, err := a.st.ClaimDeliveries(t.Context(), "a", clock.Now(), 30*time.Second, 10); err != nil || len(got) != 1 {
		t.Fatalf("claim = %v, %v", got, err)
	}
	// "a" also replays its dispatch round (as after a crash before the
	// cursor moved): nothing is queued twice.
	if err := a.st.SetTailCursor(t.Context(), webhook.CursorName, 0, clock.Now()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(31 * time.Second) // a's dispatch lease and claim lapse
	b := newFixture(t, openStore(t, path), clock, kek, "b", nil)
	if n := b.round(t); n != 1 {
		t.Fatalf("b claimed %d, want the orphaned delivery", n)
	}
	if d := b.delivery(t, e, seq); d.State != store.DeliveryDelivered || d.Attempts != 2 {
		t.Fatalf("after the takeover: %+v", d)
	}
	if ds, _ := b.st.ListDeliveries(t.Context(), store.DeliveryWebhook, e.ID, 10); len(ds) != 1 {
		t.Fatalf("%d deliveries, want 1", len(ds))
	}
	if accepted, _ := rc.snapshot(); len(accepted) != 1 || accepted["evt_"+strconv.FormatInt(seq, 10)] != 1 {
		t.Fatalf("receiver accepted %v", accepted)
	}
}

// TestTwoInstancesDeliverEachMessageOnce runs two instances' dispatchers
// and workers at the same time on one database.
func TestTwoInstancesDeliverEachMessageOnce(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "gatehouse.db")
		twoInstancesDeliverOnce(t, openStore(t, path), openStore(t, path))
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.NewDatabase(t)
		open := func() *sqlstore.Store {
			st, err := sqlstore.OpenPostgres(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			if err := st.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			return st
		}
		twoInstancesDeliverOnce(t, open(), open())
	})
}

func twoInstancesDeliverOnce(t *testing.T, sa, sb *sqlstore.Store) {
	clock := clocktest.New(time.Now().UTC().Truncate(time.Millisecond))
	kek := newKEK(t)
	a := newFixture(t, sa, clock, kek, "a", nil)
	b := newFixture(t, sb, clock, kek, "b", nil)
	var mu sync.Mutex
	requests := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests[r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	defer srv.Close()
	a.register(t, srv.URL)
	const events = 30
	for i := range events {
		a.appendEvent(t, userEvent(audit.UserUpdated, fmt.Sprint("u", i)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, f := range []*fixture{a, b} {
		wg.Go(func() {
			for range 20 {
				if _, err := f.disp.RunOnce(context.Background()); err != nil {
					errs <- err
					return
				}
				if _, err := f.worker.RunOnce(context.Background()); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Whatever one instance's lease held back, the other's rounds finish.
	for a.round(t) > 0 {
	}
	mu.Lock()
	defer mu.Unlock()
	if len(requests) != events {
		t.Fatalf("%d messages delivered, want %d", len(requests), events)
	}
	for id, n := range requests {
		if n != 1 {
			t.Fatalf("message %s delivered %d times", id, n)
		}
	}
}

// fakeLogout signs "tokens" that name what they were asked for.
type fakeLogout struct{}

func (fakeLogout) SignLogoutToken(_ context.Context, s oauth.LogoutTokenSpec) (string, error) {
	return s.ClientID + "|" + s.SessionID + "|" + s.Subject, nil
}

// TestLogoutTokensGoToEveryClientOfAnEndedSession: the dispatcher turns
// session ends into one logout delivery per (client, browser session).
func TestLogoutTokensGoToEveryClientOfAnEndedSession(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "gatehouse.db"))
	clock := clocktest.New(time.Now().UTC().Truncate(time.Millisecond))
	f := newFixture(t, st, clock, newKEK(t), "i1", fakeLogout{})
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.Method != http.MethodPost {
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		got = append(got, strings.TrimPrefix(r.URL.Path, "/")+" "+r.PostFormValue("logout_token"))
		mu.Unlock()
	}))
	defer srv.Close()
	for _, c := range []string{"rp1", "rp2", "plain"} {
		cl := store.Client{ID: c, SecretHash: []byte{1}, TokenEndpointAuthMethod: "client_secret_basic", CreatedAt: clock.Now()}
		if c != "plain" {
			cl.BackchannelLogoutURI = srv.URL + "/" + c
		}
		if err := st.CreateClient(t.Context(), cl); err != nil {
			t.Fatal(err)
		}
	}
	rec := func(client, sid, sub string) {
		if err := st.RecordBackchannelSession(t.Context(), store.BackchannelSession{ClientID: client, SID: sid, Subject: sub, ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	rec("rp1", "s1", "alice")
	rec("rp2", "s1", "alice")
	rec("rp1", "s2", "alice")
	rec("rp1", "s3", "alice")
	rec("rp2", "s9", "bob")

	// A browser session ends, then its grant of rp2 (the same logout):
	// each client hears once.
	f.appendEvent(t, audit.Event{Type: audit.SessionEnded, UserID: "alice", SessionID: "s1", Detail: map[string]string{"reason": "logout", "kind": "cookie"}})
	f.appendEvent(t, audit.Event{Type: audit.SessionEnded, UserID: "alice", SessionID: "g1", ClientID: "rp2", Detail: map[string]string{"reason": "logout", "kind": "token", "auth_session_id": "s1"}})
	// All of alice's sessions but s3 end.
	f.appendEvent(t, audit.Event{Type: audit.UserSessionsEnded, UserID: "alice", Detail: map[string]string{"reason": "password_changed", "except_session_id": "s3"}})
	// Unrelated events.
	f.appendEvent(t, audit.Event{Type: audit.SessionEnded, UserID: "carol", SessionID: "s7", Detail: map[string]string{"reason": "logout", "kind": "cookie"}})
	for f.round(t) > 0 {
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]bool{"rp1 rp1|s1|alice": true, "rp2 rp2|s1|alice": true, "rp1 rp1|s2|alice": true}
	if len(got) != len(want) {
		t.Fatalf("logout requests %v, want %v", got, want)
	}
	for _, g := range got {
		if !want[g] {
			t.Fatalf("unexpected logout request %q (all: %v)", g, got)
		}
	}
	left, err := st.BackchannelSessions(t.Context(), "", "alice")
	if err != nil || len(left) != 1 || left[0].SID != "s3" {
		t.Fatalf("alice's records left: %+v, %v", left, err)
	}
}

// TestRedirectsAreNotFollowed: a receiver that redirects gets a failed
// attempt with its 3xx status; the redirect's target is never called.
func TestRedirectsAreNotFollowed(t *testing.T) {
	f := newSingle(t)
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	e, _ := f.register(t, srv.URL+"/hooks")
	seq := f.appendEvent(t, userEvent(audit.UserCreated, "u"))
	f.round(t)
	if d := f.delivery(t, e, seq); d.State != store.DeliveryPending || d.LastStatus != http.StatusTemporaryRedirect {
		t.Fatalf("after a redirect: %+v", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 1 || paths[0] != "/hooks" {
		t.Fatalf("requests %v, want only /hooks", paths)
	}
}
