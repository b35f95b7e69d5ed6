package storetest

import (
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// testRevocationsVisibleInSeqOrder races appenders against a reader that
// polls the log the way GET /v1/revocations clients and other instances
// do: ListRevocations after its cursor, then the cursor moves to the last
// Seq it got. The reader must end up with every appended event. A backend
// whose Seqs can become visible out of order (a SQL sequence drawn by two
// transactions that commit in the other order) lets the reader move past
// an event that is not visible yet, and it never sees it.
func testRevocationsVisibleInSeqOrder(t *testing.T, st store.RevocationStore) {
	now := baseTime()
	cursor := mustAppend(t, st, newRevocation(t, now))[0].Seq
	checkTailSeesAll(t, cursor,
		func(batch int) ([]int64, error) {
			events := make([]store.Revocation, batch)
			for i := range events {
				events[i] = newRevocation(t, now)
			}
			got, err := st.AppendRevocations(t.Context(), events)
			seqs := make([]int64, len(got))
			for i, e := range got {
				seqs[i] = e.Seq
			}
			return seqs, err
		},
		func(cursor int64) ([]int64, error) {
			got, err := st.ListRevocations(t.Context(), cursor, now, 1000)
			seqs := make([]int64, len(got))
			for i, e := range got {
				seqs[i] = e.Seq
			}
			return seqs, err
		})
}

// testEventsVisibleInSeqOrder is testRevocationsVisibleInSeqOrder for the
// audit trail: a tailer reading EventsAfter its cursor sees every event
// appended concurrently.
func testEventsVisibleInSeqOrder(t *testing.T, st store.EventStore) {
	checkTailSeesAll(t, 0,
		func(batch int) ([]int64, error) {
			events := make([]audit.Event, batch)
			for i := range events {
				events[i] = newEvent(audit.LoginSucceeded, "u", baseTime())
			}
			return st.AppendEvents(t.Context(), events...)
		},
		func(cursor int64) ([]int64, error) {
			got, err := st.EventsAfter(t.Context(), cursor, 1000)
			return seqsOf(got), err
		})
}

// checkTailSeesAll runs four appenders, each appending forty times (every
// other append a batch of two) with appendN, while a reader polls after
// its cursor (starting at cursor) and moves it to the last Seq it got;
// it fails unless the reader saw every appended Seq.
func checkTailSeesAll(t *testing.T, cursor int64, appendN func(n int) ([]int64, error), after func(cursor int64) ([]int64, error)) {
	t.Helper()
	const (
		appenders = 4
		appends   = 40 // per appender; every other append is a batch of two
	)
	appended := make([][]int64, appenders)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range appenders {
		wg.Go(func() {
			<-start
			for j := range appends {
				got, err := appendN(1 + j%2)
				if err != nil {
					t.Errorf("appender %d: %v", i, err)
					return
				}
				appended[i] = append(appended[i], got...)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := map[int64]bool{}
	poll := func() int {
		t.Helper()
		got, err := after(cursor)
		noErr(t, "read after the cursor", err)
		for _, s := range got {
			if s <= cursor {
				t.Fatalf("read after %d returned Seq %d", cursor, s)
			}
			seen[s] = true
			cursor = s
		}
		return len(got)
	}
	close(start)
	for polling := true; polling; {
		select {
		case <-done:
			polling = false
		default:
			poll()
		}
	}
	for poll() > 0 { // drain what the last appends added
	}

	var missed []int64
	total := 0
	for _, seqs := range appended {
		total += len(seqs)
		for _, s := range seqs {
			if !seen[s] {
				missed = append(missed, s)
			}
		}
	}
	if len(missed) > 0 {
		slices.Sort(missed)
		t.Errorf("the polling reader never saw %d of %d concurrently appended events, Seqs %v: "+
			"they became visible after events with higher Seqs, when its cursor had moved past them",
			len(missed), total, missed)
	}
	if len(seen) != total {
		t.Errorf("the reader saw %d events, want the %d appended", len(seen), total)
	}
}
