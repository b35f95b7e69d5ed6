package storetest

import (
	"slices"
	"sync"
	"testing"

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
	const (
		appenders = 4
		appends   = 40 // per appender; every other append is a batch of two
	)
	now := baseTime()
	cursor := mustAppend(t, st, newRevocation(t, now))[0].Seq

	appended := make([][]store.Revocation, appenders)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range appenders {
		wg.Go(func() {
			<-start
			for j := range appends {
				events := []store.Revocation{newRevocation(t, now)}
				if j%2 == 1 {
					events = append(events, newRevocation(t, now))
				}
				got, err := st.AppendRevocations(t.Context(), events)
				if err != nil {
					t.Errorf("appender %d: AppendRevocations: %v", i, err)
					return
				}
				appended[i] = append(appended[i], got...)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	// seen maps each Seq read to the cursor it was read after.
	seen := map[int64]int64{}
	poll := func() int {
		t.Helper()
		got, err := st.ListRevocations(t.Context(), cursor, now, 1000)
		noErr(t, "ListRevocations", err)
		for _, e := range got {
			if e.Seq <= cursor {
				t.Fatalf("ListRevocations(%d) returned Seq %d", cursor, e.Seq)
			}
			seen[e.Seq] = cursor
			cursor = e.Seq
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
	for _, events := range appended {
		total += len(events)
		for _, e := range events {
			if _, ok := seen[e.Seq]; !ok {
				missed = append(missed, e.Seq)
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
