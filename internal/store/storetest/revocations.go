package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// RunRevocationStoreTests runs the RevocationStore conformance suite.
// newStore must return a fresh, empty store on every call and register its
// own cleanup with t.Cleanup.
func RunRevocationStoreTests(t *testing.T, newStore func(t *testing.T) store.RevocationStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.RevocationStore)
	}{
		{"AppendAssignsIncreasingSeq", testAppendRevocations},
		{"AppendNone", testAppendNoRevocations},
		{"KindsRoundTrip", testRevocationKinds},
		{"TimestampsMillisecondUTC", testRevocationTimestamps},
		{"ListAfterSeq", testListRevocationsAfterSeq},
		{"ListNone", testListRevocationsNone},
		{"ListSkipsExpired", testListRevocationsSkipsExpired},
		{"ListLimit", testListRevocationsLimit},
		{"DeleteExpired", testDeleteExpiredRevocations},
		{"SeqNeverReused", testRevocationSeqNotReused},
		{"ConcurrentAppendsVisibleInSeqOrder", testRevocationsVisibleInSeqOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// testRevocationLifetime is how long the suite's events live.
const testRevocationLifetime = time.Hour

// newRevocation returns an event revoking a random session at at.
func newRevocation(t *testing.T, at time.Time) store.Revocation {
	t.Helper()
	return store.Revocation{SessionID: randomID(t, "s-"), At: at, Expires: at.Add(testRevocationLifetime)}
}

// revocationKinds returns one event of each kind, at at: a session, a user
// and a token revoked.
func revocationKinds(t *testing.T, at time.Time) []store.Revocation {
	t.Helper()
	exp := at.Add(testRevocationLifetime)
	return []store.Revocation{
		{SessionID: randomID(t, "s-"), At: at, Expires: exp},
		{UserID: randomID(t, "u-"), At: at, Expires: exp},
		{TokenID: randomID(t, "jti-"), At: at, Expires: exp},
	}
}

// mustAppend appends events, checks that they come back in order with
// increasing Seqs and otherwise unchanged, and returns them.
func mustAppend(t *testing.T, st store.RevocationStore, events ...store.Revocation) []store.Revocation {
	t.Helper()
	got, err := st.AppendRevocations(t.Context(), slices.Clone(events))
	noErr(t, "AppendRevocations", err)
	if len(got) != len(events) {
		t.Fatalf("AppendRevocations returned %d events, want %d", len(got), len(events))
	}
	for i := range events {
		if got[i].Seq <= 0 || (i > 0 && got[i].Seq <= got[i-1].Seq) {
			t.Fatalf("AppendRevocations: event %d has Seq %d after %v, want positive and increasing", i, got[i].Seq, got[:i])
		}
		want := events[i]
		want.Seq = got[i].Seq
		t.Run(fmt.Sprintf("appended%d", i), func(t *testing.T) {
			checkRevocation(t, got[i], want)
		})
	}
	return got
}

// listRevocations returns ListRevocations(afterSeq, now, limit) and fails
// the test on error or if the events are not in increasing Seq order after
// afterSeq.
func listRevocations(t *testing.T, st store.RevocationStore, afterSeq int64, now time.Time, limit int) []store.Revocation {
	t.Helper()
	got, err := st.ListRevocations(t.Context(), afterSeq, now, limit)
	noErr(t, "ListRevocations", err)
	prev := afterSeq
	for _, e := range got {
		if e.Seq <= prev {
			t.Fatalf("ListRevocations(%d): Seq %d after %d, want increasing Seqs above the cursor", afterSeq, e.Seq, prev)
		}
		prev = e.Seq
	}
	return got
}

// checkRevocations reports a mismatch unless got holds the events of want
// in the same order.
func checkRevocations(t *testing.T, got, want []store.Revocation) {
	t.Helper()
	if len(got) != len(want) {
		seqs := make([]int64, len(got))
		for i, e := range got {
			seqs[i] = e.Seq
		}
		t.Fatalf("got %d events %v, want %d", len(got), seqs, len(want))
	}
	for i := range want {
		t.Run(fmt.Sprintf("event%d", i), func(t *testing.T) {
			checkRevocation(t, got[i], want[i])
		})
	}
}

// cursorBefore returns the cursor that lists events from e on: the suites
// append their events one call after another, so none of another test
// lies between.
func cursorBefore(e store.Revocation) int64 {
	return e.Seq - 1
}

func testAppendRevocations(t *testing.T, st store.RevocationStore) {
	first := mustAppend(t, st, revocationKinds(t, baseTime())...)
	second := mustAppend(t, st, revocationKinds(t, baseTime().Add(-time.Minute))...)
	if second[0].Seq <= first[len(first)-1].Seq {
		t.Errorf("second AppendRevocations starts at Seq %d, want more than %d", second[0].Seq, first[len(first)-1].Seq)
	}
	one := mustAppend(t, st, newRevocation(t, baseTime()))
	if one[0].Seq <= second[len(second)-1].Seq {
		t.Errorf("third AppendRevocations has Seq %d, want more than %d", one[0].Seq, second[len(second)-1].Seq)
	}
	// The stored events are the returned ones.
	all := append(append(first, second...), one...)
	checkRevocations(t, listRevocations(t, st, cursorBefore(all[0]), baseTime(), 100), all)
}

func testAppendNoRevocations(t *testing.T, st store.RevocationStore) {
	got, err := st.AppendRevocations(t.Context(), nil)
	noErr(t, "AppendRevocations(nil)", err)
	if len(got) != 0 {
		t.Errorf("AppendRevocations(nil) returned %d events, want none", len(got))
	}
}

// testRevocationKinds checks that exactly the one id set comes back set.
func testRevocationKinds(t *testing.T, st store.RevocationStore) {
	for i, e := range revocationKinds(t, baseTime()) {
		appended := mustAppend(t, st, e)
		got := listRevocations(t, st, cursorBefore(appended[0]), baseTime(), 10)
		t.Run(fmt.Sprintf("kind%d", i), func(t *testing.T) {
			checkRevocations(t, got, appended)
		})
	}
}

func testRevocationTimestamps(t *testing.T, st store.RevocationStore) {
	zone := time.FixedZone("UTC+3", 3*3600)
	e := newRevocation(t, time.Date(2099, time.September, 10, 11, 12, 13, 456789012, zone))
	e.Expires = e.At.Add(time.Hour + 999999*time.Nanosecond)
	appended := mustAppend(t, st, e)
	checkRevocations(t, listRevocations(t, st, cursorBefore(appended[0]), e.At, 10), appended)
}

func testListRevocationsAfterSeq(t *testing.T, st store.RevocationStore) {
	var events []store.Revocation
	for i := range 5 {
		events = append(events, newRevocation(t, baseTime().Add(time.Duration(i)*time.Second)))
	}
	all := mustAppend(t, st, events...)
	for i := range all {
		t.Run(fmt.Sprintf("after%d", i), func(t *testing.T) {
			checkRevocations(t, listRevocations(t, st, all[i].Seq, baseTime(), 100), all[i+1:])
		})
	}
	checkRevocations(t, listRevocations(t, st, cursorBefore(all[0]), baseTime(), 100), all)
}

func testListRevocationsNone(t *testing.T, st store.RevocationStore) {
	last := mustAppend(t, st, newRevocation(t, baseTime()))[0]
	got := listRevocations(t, st, last.Seq, baseTime(), 100)
	if got == nil || len(got) != 0 {
		t.Errorf("ListRevocations after the last event = %#v, want an empty slice", got)
	}
}

// expiringRevocations appends events around now, live and expired
// interleaved, the first one expired, and returns them all with Seq set, and
// split into live and expired. An Expires equal to now has passed.
func expiringRevocations(t *testing.T, st store.RevocationStore, now time.Time) (all, live, expired []store.Revocation) {
	t.Helper()
	mk := func(expires time.Time) store.Revocation {
		e := newRevocation(t, baseTime())
		e.Expires = expires
		return e
	}
	all = mustAppend(t, st,
		mk(now.Add(-time.Minute)),
		mk(now.Add(time.Millisecond)),
		mk(now), // Expires is now: expired
		mk(now.Add(time.Hour)),
		mk(now.Add(-time.Millisecond)),
		mk(now.Add(2*time.Hour)),
		mk(now.Add(time.Minute)),
		mk(now),
		mk(now.Add(3*time.Hour)),
	)
	for _, e := range all {
		if e.Expires.After(now) {
			live = append(live, e)
		} else {
			expired = append(expired, e)
		}
	}
	return all, live, expired
}

func testListRevocationsSkipsExpired(t *testing.T, st store.RevocationStore) {
	now := baseTime().Add(time.Hour)
	all, live, _ := expiringRevocations(t, st, now)
	cursor := cursorBefore(all[0])
	checkRevocations(t, listRevocations(t, st, cursor, now, 100), live)

	// Listing removes nothing: earlier, every event is live.
	checkRevocations(t, listRevocations(t, st, cursor, baseTime(), 100), all)
}

// testListRevocationsLimit pages through live events interleaved with
// expired ones: expired events do not count against limit.
func testListRevocationsLimit(t *testing.T, st store.RevocationStore) {
	now := baseTime().Add(time.Hour)
	all, live, _ := expiringRevocations(t, st, now)
	cursor := cursorBefore(all[0])
	const limit = 2
	for page := 0; ; page++ {
		got := listRevocations(t, st, cursor, now, limit)
		want := live[min(page*limit, len(live)):min((page+1)*limit, len(live))]
		t.Run(fmt.Sprintf("page%d", page), func(t *testing.T) {
			checkRevocations(t, got, want)
		})
		if len(got) == 0 {
			break
		}
		cursor = got[len(got)-1].Seq
	}
	if got := listRevocations(t, st, cursorBefore(all[0]), now, 1); len(got) != 1 || got[0].Seq != live[0].Seq {
		t.Errorf("ListRevocations with limit 1 = %v, want the first live event (Seq %d)", got, live[0].Seq)
	}
	if got := listRevocations(t, st, cursorBefore(all[0]), now, 0); len(got) != 0 {
		t.Errorf("ListRevocations with limit 0 returned %d events, want none", len(got))
	}
}

func testDeleteExpiredRevocations(t *testing.T, st store.RevocationStore) {
	now := baseTime().Add(time.Hour)
	// Sweep first so that only our events count, even in a shared database.
	_, err := st.DeleteExpiredRevocations(t.Context(), now)
	noErr(t, "DeleteExpiredRevocations", err)

	all, live, expired := expiringRevocations(t, st, now)
	cursor := cursorBefore(all[0])
	n, err := st.DeleteExpiredRevocations(t.Context(), now)
	noErr(t, "DeleteExpiredRevocations", err)
	if n != len(expired) {
		t.Errorf("DeleteExpiredRevocations removed %d, want %d", n, len(expired))
	}
	// Listed at an earlier time, when every event was live, only the live
	// ones are left.
	checkRevocations(t, listRevocations(t, st, cursor, baseTime(), 100), live)

	n, err = st.DeleteExpiredRevocations(t.Context(), now)
	noErr(t, "second DeleteExpiredRevocations", err)
	if n != 0 {
		t.Errorf("second DeleteExpiredRevocations removed %d, want 0", n)
	}
}

// testRevocationSeqNotReused deletes the newest event and appends another:
// a reader whose cursor is the deleted Seq must still see the new event.
func testRevocationSeqNotReused(t *testing.T, st store.RevocationStore) {
	now := baseTime().Add(time.Hour)
	live := newRevocation(t, baseTime())
	gone := newRevocation(t, baseTime())
	gone.Expires = now
	appended := mustAppend(t, st, live, gone)
	_, err := st.DeleteExpiredRevocations(t.Context(), now)
	noErr(t, "DeleteExpiredRevocations", err)

	next := mustAppend(t, st, newRevocation(t, now))
	if next[0].Seq <= appended[1].Seq {
		t.Errorf("event appended after a deletion has Seq %d, want more than the deleted %d", next[0].Seq, appended[1].Seq)
	}
	checkRevocations(t, listRevocations(t, st, appended[1].Seq, now, 10), next)
}
