package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// RunEventStoreTests runs the EventStore conformance suite. newStore
// must return a fresh, empty store on every call and register its own
// cleanup with t.Cleanup.
func RunEventStoreTests(t *testing.T, newStore func(t *testing.T) store.EventStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.EventStore)
	}{
		{"AppendRoundTrip", testAppendEventsRoundTrip},
		{"AppendNone", testAppendNoEvents},
		{"SeqIncreasesAcrossAppends", testEventSeqOrder},
		{"ListNewestFirst", testListEventsNewestFirst},
		{"ListFilters", testListEventsFilters},
		{"ListCursorPages", testListEventsPages},
		{"ListNone", testListNoEvents},
		{"EventsAfter", testEventsAfter},
		{"DeleteBefore", testDeleteEventsBefore},
		{"ConcurrentAppendsVisibleInSeqOrder", testEventsVisibleInSeqOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// newEvent returns an event of type typ about userID at at.
func newEvent(typ, userID string, at time.Time) audit.Event {
	return audit.Event{Type: typ, Time: at, UserID: userID, Actor: audit.Actor{Kind: audit.ActorUser, ID: userID}}
}

// mustAppendEvents appends events and returns them with Seq set,
// checking that the Seqs are positive and increasing.
func mustAppendEvents(t *testing.T, st store.EventStore, events ...audit.Event) []audit.Event {
	t.Helper()
	seqs, err := st.AppendEvents(t.Context(), events...)
	noErr(t, "AppendEvents", err)
	if len(seqs) != len(events) {
		t.Fatalf("AppendEvents returned %d seqs for %d events", len(seqs), len(events))
	}
	out := make([]audit.Event, len(events))
	for i, e := range events {
		if seqs[i] <= 0 || (i > 0 && seqs[i] <= seqs[i-1]) {
			t.Fatalf("AppendEvents: seqs %v, want positive and increasing", seqs)
		}
		e.Seq = seqs[i]
		if e.Detail == nil {
			e.Detail = map[string]string{}
		}
		e.Time = e.Time.UTC().Truncate(time.Millisecond)
		out[i] = e
	}
	return out
}

// seqsOf returns the events' Seqs.
func seqsOf(events []audit.Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Seq
	}
	return out
}

// reversed returns a reversed copy of events.
func reversed(events []audit.Event) []audit.Event {
	out := slices.Clone(events)
	slices.Reverse(out)
	return out
}

func testAppendEventsRoundTrip(t *testing.T, st store.EventStore) {
	at := baseTime().Add(1234567 * time.Nanosecond).In(time.FixedZone("X", 3600))
	full := audit.Event{
		Time: at, Type: audit.SessionEnded,
		Actor:  audit.Actor{Kind: audit.ActorAdmin, ID: "admin-token"},
		UserID: randomID(t, "u-"), SessionID: randomID(t, "s-"), ClientID: "client-1",
		IP: "2001:db8::1", UserAgent: "Mozilla/5.0 (é)",
		Detail: map[string]string{"reason": audit.EndAdminRevoked, "kind": "token", "quote": `"\x00`},
	}
	bare := audit.Event{Time: at, Type: audit.LoginFailed}
	want := mustAppendEvents(t, st, full, bare)
	got, err := st.EventsAfter(t.Context(), 0, 10)
	noErr(t, "EventsAfter", err)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("EventsAfter(0) =\n%+v\nwant\n%+v", got, want)
	}
	if got[0].Time.Location() != time.UTC {
		t.Errorf("Time in %v, want UTC", got[0].Time.Location())
	}
}

func testAppendNoEvents(t *testing.T, st store.EventStore) {
	seqs, err := st.AppendEvents(t.Context())
	noErr(t, "AppendEvents()", err)
	if seqs == nil || len(seqs) != 0 {
		t.Fatalf("AppendEvents() = %v, want an empty non-nil slice", seqs)
	}
	got, next, err := st.ListEvents(t.Context(), store.EventFilter{})
	noErr(t, "ListEvents", err)
	if len(got) != 0 || next != 0 {
		t.Fatalf("ListEvents after appending none = %v, %d", got, next)
	}
}

func testEventSeqOrder(t *testing.T, st store.EventStore) {
	a := mustAppendEvents(t, st, newEvent(audit.LoginSucceeded, "u1", baseTime()))
	b := mustAppendEvents(t, st, newEvent(audit.LoginSucceeded, "u1", baseTime().Add(-time.Hour)))
	if b[0].Seq <= a[0].Seq {
		t.Fatalf("second append got Seq %d after %d: Seq follows appends, not Time", b[0].Seq, a[0].Seq)
	}
}

func testListEventsNewestFirst(t *testing.T, st store.EventStore) {
	var evs []audit.Event
	for i := range 5 {
		evs = append(evs, newEvent(audit.LoginSucceeded, "u1", baseTime().Add(time.Duration(i)*time.Second)))
	}
	want := mustAppendEvents(t, st, evs...)
	got, next, err := st.ListEvents(t.Context(), store.EventFilter{})
	noErr(t, "ListEvents", err)
	if !reflect.DeepEqual(got, reversed(want)) || next != 0 {
		t.Fatalf("ListEvents = %v, next %d; want %v, next 0", seqsOf(got), next, seqsOf(reversed(want)))
	}
}

func testListNoEvents(t *testing.T, st store.EventStore) {
	got, next, err := st.ListEvents(t.Context(), store.EventFilter{UserID: "nobody", Limit: 3})
	noErr(t, "ListEvents", err)
	if got == nil || len(got) != 0 || next != 0 {
		t.Fatalf("ListEvents of nothing = %#v, %d; want an empty non-nil slice, 0", got, next)
	}
}

func testListEventsFilters(t *testing.T, st store.EventStore) {
	t0 := baseTime()
	evs := mustAppendEvents(t, st,
		newEvent(audit.LoginSucceeded, "alice", t0),                  // 0
		newEvent(audit.LoginFailed, "bob", t0.Add(time.Second)),      // 1
		newEvent(audit.SessionEnded, "alice", t0.Add(2*time.Second)), // 2
		newEvent(audit.LoginFailed, "", t0.Add(3*time.Second)),       // 3
		newEvent(audit.LoginSucceeded, "bob", t0.Add(4*time.Second)), // 4
		newEvent(audit.UserDeleted, "alice", t0.Add(5*time.Second)),  // 5
	)
	tests := []struct {
		name string
		f    store.EventFilter
		want []int // indexes, newest first
	}{
		{"user", store.EventFilter{UserID: "alice"}, []int{5, 2, 0}},
		{"type", store.EventFilter{Types: []string{audit.LoginFailed}}, []int{3, 1}},
		{"types", store.EventFilter{Types: []string{audit.LoginFailed, audit.UserDeleted}}, []int{5, 3, 1}},
		{"user and type", store.EventFilter{UserID: "bob", Types: []string{audit.LoginSucceeded}}, []int{4}},
		{"since inclusive", store.EventFilter{Since: t0.Add(4 * time.Second)}, []int{5, 4}},
		{"until exclusive", store.EventFilter{Until: t0.Add(2 * time.Second)}, []int{1, 0}},
		{"range", store.EventFilter{Since: t0.Add(time.Second), Until: t0.Add(3 * time.Second)}, []int{2, 1}},
		{"cursor", store.EventFilter{Cursor: evs[3].Seq}, []int{2, 1, 0}},
		{"cursor and user", store.EventFilter{Cursor: evs[5].Seq, UserID: "alice"}, []int{2, 0}},
		{"no match", store.EventFilter{UserID: "carol"}, nil},
		{"unknown type", store.EventFilter{Types: []string{"no.such"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, next, err := st.ListEvents(t.Context(), tc.f)
			noErr(t, "ListEvents", err)
			want := []int64{}
			for _, i := range tc.want {
				want = append(want, evs[i].Seq)
			}
			if !slices.Equal(seqsOf(got), want) || next != 0 {
				t.Fatalf("ListEvents(%+v) = %v, next %d; want %v, next 0", tc.f, seqsOf(got), next, want)
			}
		})
	}
}

func testListEventsPages(t *testing.T, st store.EventStore) {
	var evs []audit.Event
	for i := range 25 {
		typ := audit.LoginSucceeded
		if i%3 == 0 {
			typ = audit.LoginFailed
		}
		evs = append(evs, newEvent(typ, "u", baseTime()))
	}
	all := mustAppendEvents(t, st, evs...)
	for _, limit := range []int{1, 4, 5, 24, 25, 26} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			var got []int64
			f := store.EventFilter{Limit: limit}
			for pages := 0; ; pages++ {
				if pages > len(all)+1 {
					t.Fatalf("more than %d pages", pages)
				}
				page, next, err := st.ListEvents(t.Context(), f)
				noErr(t, "ListEvents", err)
				if len(page) > limit {
					t.Fatalf("page of %d events, limit %d", len(page), limit)
				}
				got = append(got, seqsOf(page)...)
				if next == 0 {
					break
				}
				if len(page) == 0 || next != page[len(page)-1].Seq {
					t.Fatalf("next cursor %d after page %v", next, seqsOf(page))
				}
				f.Cursor = next
			}
			if want := seqsOf(reversed(all)); !slices.Equal(got, want) {
				t.Fatalf("pages of %d gave %v, want %v (no duplicate, none missing)", limit, got, want)
			}
		})
	}
	t.Run("filtered", func(t *testing.T) {
		var got []int64
		f := store.EventFilter{Limit: 2, Types: []string{audit.LoginFailed}}
		for {
			page, next, err := st.ListEvents(t.Context(), f)
			noErr(t, "ListEvents", err)
			got = append(got, seqsOf(page)...)
			if next == 0 {
				break
			}
			f.Cursor = next
		}
		var want []int64
		for i, e := range slices.Backward(all) {
			if i%3 == 0 {
				want = append(want, e.Seq)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("filtered pages gave %v, want %v", got, want)
		}
	})
}

func testEventsAfter(t *testing.T, st store.EventStore) {
	var evs []audit.Event
	for range 7 {
		evs = append(evs, newEvent(audit.LoginSucceeded, "u", baseTime()))
	}
	all := mustAppendEvents(t, st, evs...)
	got, err := st.EventsAfter(t.Context(), all[2].Seq, 3)
	noErr(t, "EventsAfter", err)
	if !reflect.DeepEqual(got, all[3:6]) {
		t.Fatalf("EventsAfter(%d, 3) = %v, want %v", all[2].Seq, seqsOf(got), seqsOf(all[3:6]))
	}
	got, err = st.EventsAfter(t.Context(), all[6].Seq, 3)
	noErr(t, "EventsAfter", err)
	if got == nil || len(got) != 0 {
		t.Fatalf("EventsAfter(last) = %#v, want an empty non-nil slice", got)
	}
	got, err = st.EventsAfter(t.Context(), 0, 0)
	noErr(t, "EventsAfter", err)
	if len(got) != 0 {
		t.Fatalf("EventsAfter(0, 0) = %v, want none", seqsOf(got))
	}
}

func testDeleteEventsBefore(t *testing.T, st store.EventStore) {
	t0 := baseTime()
	all := mustAppendEvents(t, st,
		newEvent(audit.LoginSucceeded, "u", t0.Add(-2*time.Hour)),
		newEvent(audit.LoginSucceeded, "u", t0.Add(-time.Hour)),
		newEvent(audit.LoginSucceeded, "u", t0),
	)
	n, err := st.DeleteEventsBefore(t.Context(), t0.Add(-time.Hour))
	noErr(t, "DeleteEventsBefore", err)
	if n != 1 {
		t.Fatalf("DeleteEventsBefore removed %d, want 1 (strictly before)", n)
	}
	got, err := st.EventsAfter(t.Context(), 0, 10)
	noErr(t, "EventsAfter", err)
	if !slices.Equal(seqsOf(got), seqsOf(all[1:])) {
		t.Fatalf("after the delete: %v, want %v", seqsOf(got), seqsOf(all[1:]))
	}
	// Deleting the newest must not let its Seq be assigned again.
	n, err = st.DeleteEventsBefore(t.Context(), t0.Add(time.Hour))
	noErr(t, "DeleteEventsBefore", err)
	if n != 2 {
		t.Fatalf("DeleteEventsBefore removed %d, want 2", n)
	}
	again := mustAppendEvents(t, st, newEvent(audit.LoginSucceeded, "u", t0))
	if again[0].Seq <= all[2].Seq {
		t.Fatalf("Seq %d assigned again after deletion (last was %d)", again[0].Seq, all[2].Seq)
	}
}
