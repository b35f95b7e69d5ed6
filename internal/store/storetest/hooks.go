package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// HooksStore is what webhooks and back-channel logout keep: endpoints,
// the delivery queue, back-channel sessions and tail cursors.
type HooksStore interface {
	store.WebhookStore
	store.DeliveryOutbox
	store.BackchannelStore
	store.TailCursorStore
}

// RunHooksStoreTests runs the conformance suite for the stores of
// webhooks and back-channel logout. newStore must return a fresh, empty
// store on every call.
func RunHooksStoreTests(t *testing.T, newStore func(t *testing.T) HooksStore) {
	t0 := baseTime()
	lease := time.Minute

	t.Run("webhook endpoints round-trip, update atomically and delete with their deliveries", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		e := store.WebhookEndpoint{ID: randomID(t, "wh"), URL: "https://hooks.example.com/in", Description: "crm",
			EventTypes: []string{"user.created", "session.ended"}, Enabled: true, Secret: []byte{1, 2, 0xff},
			CreatedAt: t0, UpdatedAt: t0}
		noErr(t, "CreateWebhook", s.CreateWebhook(ctx, e))
		wantErr(t, "CreateWebhook again", s.CreateWebhook(ctx, e), store.ErrConflict)
		got, err := s.GetWebhook(ctx, e.ID)
		noErr(t, "GetWebhook", err)
		if got.URL != e.URL || got.Description != e.Description || !got.Enabled || !slices.Equal(got.EventTypes, e.EventTypes) || got.PreviousSecret != nil {
			t.Fatalf("GetWebhook = %+v, want %+v", got, e)
		}
		checkBytes(t, "Secret", got.Secret, e.Secret)
		checkTime(t, "CreatedAt", got.CreatedAt, t0)
		checkOptionalTime(t, "PreviousUntil", got.PreviousUntil, time.Time{})

		e2 := store.WebhookEndpoint{ID: randomID(t, "wh"), URL: "http://127.0.0.1:9/x", Secret: []byte{9}, CreatedAt: t0.Add(time.Second), UpdatedAt: t0}
		noErr(t, "CreateWebhook", s.CreateWebhook(ctx, e2))
		list, err := s.ListWebhooks(ctx)
		noErr(t, "ListWebhooks", err)
		if len(list) != 2 || list[0].ID != e.ID || list[1].ID != e2.ID || len(list[1].EventTypes) != 0 {
			t.Fatalf("ListWebhooks = %+v", list)
		}

		boom := errors.New("boom")
		_, err = s.UpdateWebhook(ctx, e.ID, func(old store.WebhookEndpoint) (store.WebhookEndpoint, error) { return old, boom })
		wantErr(t, "UpdateWebhook failing", err, boom)
		up, err := s.UpdateWebhook(ctx, e.ID, func(old store.WebhookEndpoint) (store.WebhookEndpoint, error) {
			old.Enabled, old.EventTypes = false, nil
			old.PreviousSecret, old.PreviousUntil, old.Secret = old.Secret, t0.Add(time.Hour), []byte{7, 7}
			old.UpdatedAt = t0.Add(time.Minute)
			return old, nil
		})
		noErr(t, "UpdateWebhook", err)
		got, err = s.GetWebhook(ctx, e.ID)
		noErr(t, "GetWebhook", err)
		if got.Enabled || len(got.EventTypes) != 0 || up.Enabled {
			t.Fatalf("after update: %+v", got)
		}
		checkBytes(t, "Secret", got.Secret, []byte{7, 7})
		checkBytes(t, "PreviousSecret", got.PreviousSecret, []byte{1, 2, 0xff})
		checkTime(t, "PreviousUntil", got.PreviousUntil, t0.Add(time.Hour))
		checkTime(t, "UpdatedAt", got.UpdatedAt, t0.Add(time.Minute))
		_, err = s.UpdateWebhook(ctx, "missing", func(old store.WebhookEndpoint) (store.WebhookEndpoint, error) { return old, nil })
		wantErr(t, "UpdateWebhook missing", err, store.ErrNotFound)

		d := store.Delivery{ID: e.ID + ".1", Kind: store.DeliveryWebhook, Target: e.ID, MessageID: "evt_1", Payload: []byte("{}"), CreatedAt: t0, NextAttemptAt: t0}
		_, err = s.EnqueueDeliveries(ctx, d)
		noErr(t, "EnqueueDeliveries", err)
		noErr(t, "DeleteWebhook", s.DeleteWebhook(ctx, e.ID))
		wantErr(t, "DeleteWebhook again", s.DeleteWebhook(ctx, e.ID), store.ErrNotFound)
		_, err = s.GetWebhook(ctx, e.ID)
		wantErr(t, "GetWebhook deleted", err, store.ErrNotFound)
		_, err = s.GetDelivery(ctx, d.ID)
		wantErr(t, "GetDelivery of a deleted endpoint", err, store.ErrNotFound)
	})

	delivery := func(t *testing.T, target string, due time.Time) store.Delivery {
		id := randomID(t, "d")
		return store.Delivery{ID: id, Kind: store.DeliveryWebhook, Target: target, MessageID: "msg_" + id,
			Payload: []byte(`{"type":"x"}`), CreatedAt: due, NextAttemptAt: due}
	}

	t.Run("deliveries enqueue idempotently, claim once, and record attempts", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		a, b, later := delivery(t, "wh1", t0), delivery(t, "wh1", t0.Add(time.Second)), delivery(t, "wh1", t0.Add(time.Hour))
		n, err := s.EnqueueDeliveries(ctx, a, b, later)
		noErr(t, "EnqueueDeliveries", err)
		if n != 3 {
			t.Fatalf("EnqueueDeliveries added %d, want 3", n)
		}
		n, err = s.EnqueueDeliveries(ctx, a, b)
		noErr(t, "EnqueueDeliveries again", err)
		if n != 0 {
			t.Fatalf("EnqueueDeliveries again added %d, want 0", n)
		}
		got, err := s.ClaimDeliveries(ctx, "h1", t0.Add(time.Second), lease, 10)
		noErr(t, "ClaimDeliveries", err)
		if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID || got[0].Attempts != 1 || got[0].LeaseHolder != "h1" {
			t.Fatalf("ClaimDeliveries = %+v, want a and b", got)
		}
		checkBytes(t, "Payload", got[0].Payload, a.Payload)
		again, err := s.ClaimDeliveries(ctx, "h2", t0.Add(2*time.Second), lease, 10)
		noErr(t, "ClaimDeliveries while leased", err)
		if len(again) != 0 {
			t.Fatalf("leased deliveries claimed again: %+v", again)
		}
		// A failure by another holder changes nothing.
		wantErr(t, "MarkDeliveryFailed by h2", s.MarkDeliveryFailed(ctx, a.ID, "h2", store.DeliveryAttempt{At: t0, Error: "x"}), store.ErrNotFound)
		noErr(t, "MarkDeliveryFailed", s.MarkDeliveryFailed(ctx, a.ID, "h1", store.DeliveryAttempt{
			At: t0.Add(3 * time.Second), Status: 500, Error: "HTTP 500", NextAttemptAt: t0.Add(time.Minute)}))
		da, err := s.GetDelivery(ctx, a.ID)
		noErr(t, "GetDelivery", err)
		if da.State != store.DeliveryPending || da.LastStatus != 500 || da.LastError != "HTTP 500" || da.LeaseHolder != "" {
			t.Fatalf("after a failure: %+v", da)
		}
		checkTime(t, "NextAttemptAt", da.NextAttemptAt, t0.Add(time.Minute))
		checkTime(t, "LastAttemptAt", da.LastAttemptAt, t0.Add(3*time.Second))

		noErr(t, "MarkDeliveryDone", s.MarkDeliveryDone(ctx, b.ID, store.DeliveryAttempt{At: t0.Add(4 * time.Second), Status: 204}))
		noErr(t, "MarkDeliveryDone again", s.MarkDeliveryDone(ctx, b.ID, store.DeliveryAttempt{At: t0.Add(5 * time.Second), Status: 200}))
		wantErr(t, "MarkDeliveryDone missing", s.MarkDeliveryDone(ctx, "missing", store.DeliveryAttempt{At: t0}), store.ErrNotFound)
		db, err := s.GetDelivery(ctx, b.ID)
		noErr(t, "GetDelivery", err)
		if db.State != store.DeliveryDelivered || db.LastStatus != 204 || len(db.Payload) != 0 {
			t.Fatalf("delivered: %+v", db)
		}
		checkTime(t, "FinishedAt", db.FinishedAt, t0.Add(4*time.Second))

		// An expired lease is claimed again, by anyone; a due failed one too.
		got, err = s.ClaimDeliveries(ctx, "h2", t0.Add(time.Hour), lease, 10)
		noErr(t, "ClaimDeliveries later", err)
		if len(got) != 2 || got[0].ID != a.ID || got[0].Attempts != 2 || got[1].ID != later.ID {
			t.Fatalf("ClaimDeliveries later = %+v", got)
		}
		noErr(t, "MarkDeliveryFailed dead", s.MarkDeliveryFailed(ctx, a.ID, "h2", store.DeliveryAttempt{At: t0.Add(time.Hour), Error: "refused", Dead: true}))
		da, err = s.GetDelivery(ctx, a.ID)
		noErr(t, "GetDelivery", err)
		if da.State != store.DeliveryDead || da.LastError != "refused" {
			t.Fatalf("dead: %+v", da)
		}
		wantErr(t, "RetryDelivery of a pending one", s.RetryDelivery(ctx, later.ID, t0), store.ErrNotFound)
		noErr(t, "RetryDelivery", s.RetryDelivery(ctx, a.ID, t0.Add(2*time.Hour)))
		da, err = s.GetDelivery(ctx, a.ID)
		noErr(t, "GetDelivery", err)
		if da.State != store.DeliveryPending || da.Attempts != 0 || !da.FinishedAt.IsZero() {
			t.Fatalf("retried: %+v", da)
		}
		checkBytes(t, "Payload", da.Payload, a.Payload)

		list, err := s.ListDeliveries(ctx, store.DeliveryWebhook, "wh1", 2)
		noErr(t, "ListDeliveries", err)
		if len(list) != 2 || list[0].ID != later.ID || list[1].ID != b.ID {
			t.Fatalf("ListDeliveries = %v", list)
		}
		n, err = s.DeleteFinishedDeliveries(ctx, t0.Add(time.Hour))
		noErr(t, "DeleteFinishedDeliveries", err)
		if n != 1 {
			t.Fatalf("DeleteFinishedDeliveries = %d, want 1 (b)", n)
		}
	})

	t.Run("concurrent claims take disjoint deliveries", func(t *testing.T) {
		s := newStore(t)
		var all []store.Delivery
		for range 20 {
			all = append(all, delivery(t, "wh2", t0))
		}
		_, err := s.EnqueueDeliveries(t.Context(), all...)
		noErr(t, "EnqueueDeliveries", err)
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for i := range 4 {
			wg.Go(func() {
				for {
					got, err := s.ClaimDeliveries(t.Context(), string(rune('a'+i)), t0, lease, 3)
					if err != nil {
						errs <- err
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, d := range got {
						seen[d.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("ClaimDeliveries: %v", err)
		}
		if len(seen) != len(all) {
			t.Fatalf("claimed %d distinct deliveries, want %d", len(seen), len(all))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("delivery %s claimed %d times", id, n)
			}
		}
	})

	t.Run("back-channel sessions keep the later expiry and are found by sid or subject", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		sid, sub := randomID(t, "sid"), randomID(t, "u")
		noErr(t, "Record", s.RecordBackchannelSession(ctx, store.BackchannelSession{ClientID: "c2", SID: sid, Subject: sub, ExpiresAt: t0.Add(time.Hour)}))
		noErr(t, "Record", s.RecordBackchannelSession(ctx, store.BackchannelSession{ClientID: "c1", SID: sid, Subject: sub, ExpiresAt: t0.Add(2 * time.Hour)}))
		noErr(t, "Record earlier", s.RecordBackchannelSession(ctx, store.BackchannelSession{ClientID: "c1", SID: sid, Subject: sub, ExpiresAt: t0}))
		noErr(t, "Record other", s.RecordBackchannelSession(ctx, store.BackchannelSession{ClientID: "c1", SID: "other", Subject: sub, ExpiresAt: t0.Add(time.Minute)}))
		got, err := s.BackchannelSessions(ctx, sid, "")
		noErr(t, "BackchannelSessions by sid", err)
		if len(got) != 2 || got[0].ClientID != "c1" || got[1].ClientID != "c2" || got[0].Subject != sub {
			t.Fatalf("by sid = %+v", got)
		}
		checkTime(t, "ExpiresAt", got[0].ExpiresAt, t0.Add(2*time.Hour))
		got, err = s.BackchannelSessions(ctx, "", sub)
		noErr(t, "BackchannelSessions by subject", err)
		if len(got) != 3 {
			t.Fatalf("by subject = %+v", got)
		}
		noErr(t, "DeleteBackchannelSession", s.DeleteBackchannelSession(ctx, "c2", sid))
		noErr(t, "DeleteBackchannelSession missing", s.DeleteBackchannelSession(ctx, "c2", sid))
		n, err := s.DeleteExpiredBackchannelSessions(ctx, t0.Add(time.Minute))
		noErr(t, "DeleteExpiredBackchannelSessions", err)
		if n != 1 {
			t.Fatalf("DeleteExpiredBackchannelSessions = %d, want 1", n)
		}
		got, err = s.BackchannelSessions(ctx, "", sub)
		noErr(t, "BackchannelSessions", err)
		if len(got) != 1 || got[0].ClientID != "c1" || got[0].SID != sid {
			t.Fatalf("left = %+v", got)
		}
		none, err := s.BackchannelSessions(ctx, "nothing", "")
		noErr(t, "BackchannelSessions none", err)
		if none == nil || len(none) != 0 {
			t.Fatalf("none = %#v, want an empty slice", none)
		}
	})

	t.Run("tail cursors start at zero and keep what is set", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		seq, err := s.TailCursor(ctx, "webhooks")
		noErr(t, "TailCursor", err)
		if seq != 0 {
			t.Fatalf("TailCursor = %d, want 0", seq)
		}
		noErr(t, "SetTailCursor", s.SetTailCursor(ctx, "webhooks", 41, t0))
		noErr(t, "SetTailCursor", s.SetTailCursor(ctx, "webhooks", 42, t0))
		seq, err = s.TailCursor(ctx, "webhooks")
		noErr(t, "TailCursor", err)
		if seq != 42 {
			t.Fatalf("TailCursor = %d, want 42", seq)
		}
	})
}
