package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// RunMailOutboxTests runs the conformance suite for store.MailOutbox.
// newStore must return a fresh, empty store on every call: claims see the
// whole outbox.
func RunMailOutboxTests(t *testing.T, newStore func(t *testing.T) store.MailOutbox) {
	t0 := baseTime()
	lease := time.Minute
	enqueue := func(t *testing.T, s store.MailOutbox, due time.Time) store.OutboxMail {
		t.Helper()
		m := store.OutboxMail{ID: randomID(t, "m"), Kind: "verify_email", Payload: append([]byte{0, 0xff}, randomHash(t)...),
			CreatedAt: t0.Add(-time.Hour), NextAttemptAt: due}
		noErr(t, "EnqueueMail", s.EnqueueMail(t.Context(), m))
		return m
	}
	claim := func(t *testing.T, s store.MailOutbox, holder string, now time.Time, limit int) []store.OutboxMail {
		t.Helper()
		got, err := s.ClaimMails(t.Context(), holder, now, lease, limit)
		noErr(t, "ClaimMails", err)
		return got
	}
	ids := func(ms []store.OutboxMail) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	get := func(t *testing.T, s store.MailOutbox, id string) store.OutboxMail {
		t.Helper()
		m, err := s.GetMail(t.Context(), id)
		noErr(t, "GetMail", err)
		return m
	}

	t.Run("enqueue and get round-trip a pending mail", func(t *testing.T) {
		s := newStore(t)
		m := store.OutboxMail{ID: randomID(t, "m"), Kind: "recover_password", Payload: []byte{0, 1, 0xfe, 'x'},
			CreatedAt: t0, NextAttemptAt: t0.Add(time.Second),
			// Ignored by EnqueueMail:
			State: store.MailSent, Attempts: 7, LastError: "x", LeaseHolder: "h", LeaseUntil: t0.Add(time.Hour), FinishedAt: t0}
		noErr(t, "EnqueueMail", s.EnqueueMail(t.Context(), m))
		got := get(t, s, m.ID)
		if got.ID != m.ID || got.Kind != m.Kind || got.State != store.MailPending || got.Attempts != 0 || got.LastError != "" || got.LeaseHolder != "" {
			t.Fatalf("GetMail = %+v, want a fresh pending copy of %+v", got, m)
		}
		checkBytes(t, "Payload", got.Payload, m.Payload)
		checkTime(t, "CreatedAt", got.CreatedAt, m.CreatedAt)
		checkTime(t, "NextAttemptAt", got.NextAttemptAt, m.NextAttemptAt)
		checkOptionalTime(t, "LeaseUntil", got.LeaseUntil, time.Time{})
		checkOptionalTime(t, "FinishedAt", got.FinishedAt, time.Time{})
	})
	t.Run("duplicate id conflicts", func(t *testing.T) {
		s := newStore(t)
		m := enqueue(t, s, t0)
		wantErr(t, "EnqueueMail again", s.EnqueueMail(t.Context(), m), store.ErrConflict)
	})
	t.Run("missing mail is not found", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetMail(t.Context(), randomID(t, "m"))
		wantErr(t, "GetMail", err, store.ErrNotFound)
		wantErr(t, "MarkMailSent", s.MarkMailSent(t.Context(), randomID(t, "m"), t0), store.ErrNotFound)
		wantErr(t, "MarkMailFailed", s.MarkMailFailed(t.Context(), randomID(t, "m"), "a", store.MailFailure{At: t0, NextAttemptAt: t0}), store.ErrNotFound)
	})
	t.Run("claim takes due mails earliest first up to the limit", func(t *testing.T) {
		s := newStore(t)
		late := enqueue(t, s, t0.Add(time.Millisecond)) // not due yet
		b := enqueue(t, s, t0)                          // due exactly now
		a := enqueue(t, s, t0.Add(-time.Second))
		c := enqueue(t, s, t0.Add(-time.Millisecond))
		got := claim(t, s, "w1", t0, 2)
		if want := []string{a.ID, c.ID}; !slices.Equal(ids(got), want) {
			t.Fatalf("claim(limit 2) = %q, want %q", ids(got), want)
		}
		for _, m := range got {
			if m.Attempts != 1 || m.LeaseHolder != "w1" || m.State != store.MailPending {
				t.Errorf("claimed mail %+v: want attempt 1, leased to w1", m)
			}
			checkTime(t, "LeaseUntil", m.LeaseUntil, t0.Add(lease))
		}
		checkBytes(t, "claimed Payload", got[0].Payload, a.Payload)
		checkBytes(t, "claimed Payload", got[1].Payload, c.Payload)
		if got := claim(t, s, "w2", t0, 10); !slices.Equal(ids(got), []string{b.ID}) {
			t.Fatalf("second claim = %q, want only %s (the rest are leased or not due)", ids(got), b.ID)
		}
		if got := claim(t, s, "w2", t0.Add(time.Millisecond), 10); !slices.Equal(ids(got), []string{late.ID}) {
			t.Fatalf("claim a millisecond later = %q, want %s", ids(got), late.ID)
		}
	})
	t.Run("a live lease is not claimed again by anyone", func(t *testing.T) {
		s := newStore(t)
		m := enqueue(t, s, t0)
		if got := claim(t, s, "w1", t0, 10); len(got) != 1 {
			t.Fatalf("first claim = %q", ids(got))
		}
		for _, h := range []string{"w1", "w2"} {
			if got := claim(t, s, h, t0.Add(lease-time.Millisecond), 10); len(got) != 0 {
				t.Fatalf("claim by %s during the lease = %q, want none", h, ids(got))
			}
		}
		if got := get(t, s, m.ID); got.Attempts != 1 || got.LeaseHolder != "w1" {
			t.Fatalf("after refused claims: %+v", got)
		}
	})
	t.Run("an expired lease is claimed again", func(t *testing.T) {
		s := newStore(t)
		m := enqueue(t, s, t0)
		claim(t, s, "w1", t0, 10)
		got := claim(t, s, "w2", t0.Add(lease), 10) // the lease ends exactly now
		if len(got) != 1 || got[0].ID != m.ID || got[0].LeaseHolder != "w2" || got[0].Attempts != 2 {
			t.Fatalf("claim after the lease = %+v, want %s leased to w2, attempt 2", got, m.ID)
		}
		checkTime(t, "LeaseUntil", got[0].LeaseUntil, t0.Add(2*lease))
		// The first holder lost it: its failure report changes nothing.
		wantErr(t, "MarkMailFailed by the old holder",
			s.MarkMailFailed(t.Context(), m.ID, "w1", store.MailFailure{At: t0, Error: "x", Dead: true}), store.ErrNotFound)
		if g := get(t, s, m.ID); g.State != store.MailPending || g.LeaseHolder != "w2" || g.LastError != "" {
			t.Fatalf("after the old holder's report: %+v", g)
		}
	})
	t.Run("a sent mail is never claimed again", func(t *testing.T) {
		s := newStore(t)
		m := enqueue(t, s, t0)
		claim(t, s, "w1", t0, 10)
		noErr(t, "MarkMailSent", s.MarkMailSent(t.Context(), m.ID, t0.Add(time.Second)))
		got := get(t, s, m.ID)
		if got.State != store.MailSent || len(got.Payload) != 0 || got.LeaseHolder != "" || got.Attempts != 1 {
			t.Fatalf("sent mail = %+v: want sent, payload and lease cleared", got)
		}
		checkTime(t, "FinishedAt", got.FinishedAt, t0.Add(time.Second))
		for _, now := range []time.Time{t0.Add(lease), t0.Add(1000 * time.Hour)} {
			if c := claim(t, s, "w2", now, 10); len(c) != 0 {
				t.Fatalf("claim at %v = %q, want none", now, ids(c))
			}
		}
		noErr(t, "MarkMailSent again", s.MarkMailSent(t.Context(), m.ID, t0.Add(time.Hour)))
		checkTime(t, "FinishedAt after a second MarkMailSent", get(t, s, m.ID).FinishedAt, t0.Add(time.Second))
		wantErr(t, "MarkMailFailed of a sent mail",
			s.MarkMailFailed(t.Context(), m.ID, "w1", store.MailFailure{At: t0, NextAttemptAt: t0}), store.ErrNotFound)
		if g := get(t, s, m.ID); g.State != store.MailSent {
			t.Fatalf("MarkMailFailed changed a sent mail: %+v", g)
		}
	})
	t.Run("a failed mail is due again at its next attempt", func(t *testing.T) {
		s := newStore(t)
		m := enqueue(t, s, t0)
		claim(t, s, "w1", t0, 10)
		next := t0.Add(30 * time.Second)
		noErr(t, "MarkMailFailed", s.MarkMailFailed(t.Context(), m.ID, "w1", store.MailFailure{At: t0, Error: "451 try later", NextAttemptAt: next}))
		got := get(t, s, m.ID)
		if got.State != store.MailPending || got.LastError != "451 try later" || got.LeaseHolder != "" || got.Attempts != 1 {
			t.Fatalf("failed mail = %+v", got)
		}
		checkBytes(t, "Payload kept for the retry", got.Payload, m.Payload)
		checkTime(t, "NextAttemptAt", got.NextAttemptAt, next)
		checkOptionalTime(t, "FinishedAt", got.FinishedAt, time.Time{})
		if c := claim(t, s, "w2", next.Add(-time.Millisecond), 10); len(c) != 0 {
			t.Fatalf("claim before the next attempt = %q", ids(c))
		}
		c := claim(t, s, "w2", next, 10)
		if len(c) != 1 || c[0].Attempts != 2 || c[0].LastError != "451 try later" {
			t.Fatalf("claim at the next attempt = %+v", c)
		}
	})
	t.Run("a dead mail is never claimed again", func(t *testing.T) {
		s := newStore(t)
		m := enqueue(t, s, t0)
		claim(t, s, "w1", t0, 10)
		noErr(t, "MarkMailFailed", s.MarkMailFailed(t.Context(), m.ID, "w1", store.MailFailure{At: t0.Add(time.Second), Error: "550 no such user", Dead: true}))
		got := get(t, s, m.ID)
		if got.State != store.MailDead || len(got.Payload) != 0 || got.LastError != "550 no such user" || got.LeaseHolder != "" {
			t.Fatalf("dead mail = %+v", got)
		}
		checkTime(t, "FinishedAt", got.FinishedAt, t0.Add(time.Second))
		if c := claim(t, s, "w1", t0.Add(1000*time.Hour), 10); len(c) != 0 {
			t.Fatalf("claim = %q, want none", ids(c))
		}
	})
	t.Run("two claimers never get the same mail", func(t *testing.T) {
		s := newStore(t)
		const n = 40
		want := map[string]bool{}
		for range n {
			want[enqueue(t, s, t0.Add(-time.Minute)).ID] = true
		}
		var mu sync.Mutex
		seen := map[string]string{}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for w := range 4 {
			holder := string(rune('a' + w))
			wg.Go(func() {
				for range n { // a backend that re-hands mails must not loop forever
					got, err := s.ClaimMails(t.Context(), holder, t0, lease, 3)
					if err != nil {
						errs <- err
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, m := range got {
						if prev, dup := seen[m.ID]; dup {
							t.Errorf("mail %s claimed by %s and by %s", m.ID, prev, holder)
						}
						seen[m.ID] = holder
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("ClaimMails: %v", err)
		}
		if len(seen) != n {
			t.Fatalf("claimed %d mails, want all %d", len(seen), n)
		}
		for id := range seen {
			if !want[id] {
				t.Fatalf("claimed an unknown mail %s", id)
			}
		}
	})
	t.Run("sweep deletes finished mails before the cutoff", func(t *testing.T) {
		s := newStore(t)
		sentOld, sentNow, deadOld, pendingOld := enqueue(t, s, t0), enqueue(t, s, t0), enqueue(t, s, t0), enqueue(t, s, t0.Add(-1000*time.Hour))
		noErr(t, "MarkMailSent", s.MarkMailSent(t.Context(), sentOld.ID, t0.Add(-time.Millisecond)))
		noErr(t, "MarkMailSent", s.MarkMailSent(t.Context(), sentNow.ID, t0))
		claimed := claim(t, s, "w", t0, 10)
		if !slices.Contains(ids(claimed), deadOld.ID) {
			t.Fatalf("claim = %q, want %s among them", ids(claimed), deadOld.ID)
		}
		noErr(t, "MarkMailFailed", s.MarkMailFailed(t.Context(), deadOld.ID, "w", store.MailFailure{At: t0.Add(-time.Millisecond), Dead: true, Error: "x"}))
		n, err := s.DeleteFinishedMails(t.Context(), t0)
		noErr(t, "DeleteFinishedMails", err)
		if n != 2 {
			t.Errorf("DeleteFinishedMails = %d, want 2", n)
		}
		for _, id := range []string{sentOld.ID, deadOld.ID} {
			_, err := s.GetMail(t.Context(), id)
			wantErr(t, "GetMail of a swept mail", err, store.ErrNotFound)
		}
		for _, id := range []string{sentNow.ID, pendingOld.ID} {
			get(t, s, id)
		}
	})
}
