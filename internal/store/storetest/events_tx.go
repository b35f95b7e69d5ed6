package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// EventTxStore is a backend that writes audit events in the transactions
// of its changes (the SQL store): users, revocations and the session
// sweep.
type EventTxStore interface {
	store.EventStore
	store.UserStore
	store.UserEventStore
	store.SessionStore
	store.SessionEventStore
	store.RevocationStore
	store.RevocationEventStore
}

// RunEventTxStoreTests runs the conformance suite of the "…WithEvents"
// variants: the change and its events are stored together, or neither.
// newStore must return a fresh, empty store on every call.
func RunEventTxStoreTests(t *testing.T, newStore func(t *testing.T) EventTxStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s EventTxStore)
	}{
		{"CreateUserWithEvents", testCreateUserWithEvents},
		{"CreateUserConflictWritesNoEvent", testCreateUserConflictNoEvent},
		{"UpdateUserWithEvents", testUpdateUserWithEvents},
		{"UpdateUserRefusedWritesNothing", testUpdateUserRefusedNoEvent},
		{"UpdateUserMissingWritesNothing", testUpdateUserMissingNoEvent},
		{"DeleteUserWithEvents", testDeleteUserWithEvents},
		{"DeleteUserMissingWritesNothing", testDeleteUserMissingNoEvent},
		{"AppendRevocationsWithEvents", testRevocationsWithEvents},
		{"DeleteExpiredSessionsWithEvents", testSweepWithEvents},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// countEvents returns how many events the store holds.
func countEvents(t *testing.T, st store.EventStore) int {
	t.Helper()
	evs, err := st.EventsAfter(t.Context(), 0, store.MaxEventPage)
	noErr(t, "EventsAfter", err)
	return len(evs)
}

// wantEventTypes fails unless the store's events have exactly the types
// want, in order, about userID.
func wantEventTypes(t *testing.T, st store.EventStore, userID string, want ...string) {
	t.Helper()
	evs, err := st.EventsAfter(t.Context(), 0, store.MaxEventPage)
	noErr(t, "EventsAfter", err)
	if len(evs) != len(want) {
		t.Fatalf("%d events %+v, want types %v", len(evs), evs, want)
	}
	for i, e := range evs {
		if e.Type != want[i] || e.UserID != userID {
			t.Fatalf("event %d is %s about %q, want %s about %q", i, e.Type, e.UserID, want[i], userID)
		}
	}
}

func testCreateUserWithEvents(t *testing.T, st EventTxStore) {
	u := newUser(t)
	seqs, err := st.CreateUserWithEvents(t.Context(), u, []audit.Event{newEvent(audit.UserCreated, u.ID, baseTime())})
	noErr(t, "CreateUserWithEvents", err)
	if len(seqs) != 1 || seqs[0] <= 0 {
		t.Fatalf("seqs %v", seqs)
	}
	mustGetUser(t, st, u.ID)
	wantEventTypes(t, st, u.ID, audit.UserCreated)
}

func testCreateUserConflictNoEvent(t *testing.T, st EventTxStore) {
	u := newUser(t)
	mustCreateUser(t, st, u)
	again := newUser(t)
	again.Email = u.Email
	_, err := st.CreateUserWithEvents(t.Context(), again, []audit.Event{newEvent(audit.UserCreated, again.ID, baseTime())})
	wantErr(t, "CreateUserWithEvents of a taken address", err, store.ErrConflict)
	if n := countEvents(t, st); n != 0 {
		t.Fatalf("a refused creation left %d events", n)
	}
}

func testUpdateUserWithEvents(t *testing.T, st EventTxStore) {
	u := newUser(t)
	mustCreateUser(t, st, u)
	got, events, err := st.UpdateUserWithEvents(t.Context(), u.ID, func(old store.User) (store.User, []audit.Event, error) {
		old.Disabled = true
		return old, []audit.Event{newEvent(audit.UserUpdated, old.ID, baseTime()), newEvent(audit.UserDisabled, old.ID, baseTime())}, nil
	})
	noErr(t, "UpdateUserWithEvents", err)
	if !got.Disabled || !mustGetUser(t, st, u.ID).Disabled {
		t.Fatalf("the update was not stored")
	}
	if len(events) != 2 || events[0].Seq <= 0 || events[1].Seq <= events[0].Seq {
		t.Fatalf("returned events %+v, want two with increasing Seqs", events)
	}
	wantEventTypes(t, st, u.ID, audit.UserUpdated, audit.UserDisabled)
}

func testUpdateUserRefusedNoEvent(t *testing.T, st EventTxStore) {
	u := newUser(t)
	mustCreateUser(t, st, u)
	_, _, err := st.UpdateUserWithEvents(t.Context(), u.ID, func(old store.User) (store.User, []audit.Event, error) {
		old.Disabled = true
		return old, []audit.Event{newEvent(audit.UserDisabled, old.ID, baseTime())}, errUpdate
	})
	if !errors.Is(err, errUpdate) {
		t.Fatalf("UpdateUserWithEvents returned %v, want the update's error", err)
	}
	if mustGetUser(t, st, u.ID).Disabled || countEvents(t, st) != 0 {
		t.Fatalf("a refused update wrote the user or an event")
	}
}

func testUpdateUserMissingNoEvent(t *testing.T, st EventTxStore) {
	_, _, err := st.UpdateUserWithEvents(t.Context(), "no-such-user", func(old store.User) (store.User, []audit.Event, error) {
		return old, []audit.Event{newEvent(audit.UserUpdated, old.ID, baseTime())}, nil
	})
	wantErr(t, "UpdateUserWithEvents of a missing user", err, store.ErrNotFound)
	if n := countEvents(t, st); n != 0 {
		t.Fatalf("%d events for a missing user", n)
	}
}

func testDeleteUserWithEvents(t *testing.T, st EventTxStore) {
	u := newUser(t)
	mustCreateUser(t, st, u)
	_, err := st.DeleteUserWithEvents(t.Context(), u.ID, []audit.Event{newEvent(audit.UserDeleted, u.ID, baseTime())})
	noErr(t, "DeleteUserWithEvents", err)
	_, err = st.GetUser(t.Context(), u.ID)
	wantErr(t, "GetUser after the delete", err, store.ErrNotFound)
	wantEventTypes(t, st, u.ID, audit.UserDeleted)
}

func testDeleteUserMissingNoEvent(t *testing.T, st EventTxStore) {
	_, err := st.DeleteUserWithEvents(t.Context(), "no-such-user", []audit.Event{newEvent(audit.UserDeleted, "no-such-user", baseTime())})
	wantErr(t, "DeleteUserWithEvents of a missing user", err, store.ErrNotFound)
	if n := countEvents(t, st); n != 0 {
		t.Fatalf("%d events for a missing user", n)
	}
}

func testRevocationsWithEvents(t *testing.T, st EventTxStore) {
	at := baseTime()
	rev := newRevocation(t, at)
	revs, seqs, err := st.AppendRevocationsWithEvents(t.Context(), []store.Revocation{rev},
		[]audit.Event{{Type: audit.SessionEnded, UserID: "u", SessionID: rev.SessionID, Time: at}})
	noErr(t, "AppendRevocationsWithEvents", err)
	if len(revs) != 1 || revs[0].Seq <= 0 || len(seqs) != 1 || seqs[0] <= 0 {
		t.Fatalf("AppendRevocationsWithEvents = %+v, %v", revs, seqs)
	}
	listed, err := st.ListRevocations(t.Context(), 0, at, 10)
	noErr(t, "ListRevocations", err)
	if len(listed) != 1 || listed[0].SessionID != rev.SessionID {
		t.Fatalf("revocations %+v", listed)
	}
	wantEventTypes(t, st, "u", audit.SessionEnded)
}

func testSweepWithEvents(t *testing.T, st EventTxStore) {
	now := baseTime()
	old := newCookieSession(t, "u", now.Add(-48*time.Hour))
	live := newCookieSession(t, "u", now)
	mustCreateSession(t, st, old)
	mustCreateSession(t, st, live)
	events, err := st.DeleteExpiredSessionsWithEvents(t.Context(), now, func(s store.Session) audit.Event {
		return audit.Event{Type: audit.SessionEnded, UserID: s.UserID, SessionID: s.ID, Time: now,
			Detail: map[string]string{"reason": audit.EndExpired}}
	})
	noErr(t, "DeleteExpiredSessionsWithEvents", err)
	if len(events) != 1 || events[0].SessionID != old.ID || events[0].Seq <= 0 {
		t.Fatalf("sweep events %+v, want one for %s with a Seq", events, old.ID)
	}
	_, err = st.GetSession(t.Context(), old.ID)
	wantErr(t, "GetSession of the swept record", err, store.ErrNotFound)
	if _, err := st.GetSession(t.Context(), live.ID); err != nil {
		t.Fatalf("the live record was swept: %v", err)
	}
	wantEventTypes(t, st, "u", audit.SessionEnded)
}
