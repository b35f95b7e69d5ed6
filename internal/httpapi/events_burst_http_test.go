package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
)

// TestEventsPaginationBurst appends 10,000 events from four writers while
// a reader pages through GET /admin/v1/events, then pages through them
// all again with several page sizes: every page walk sees each event
// below its starting point exactly once, none missing, none twice. On
// PostgreSQL this relies on events becoming visible in seq order.
func TestEventsPaginationBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 events")
	}
	for _, be := range auditBackends[:2] { // the event store is the SQL database's in every configuration
		t.Run(be.name, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{Args: be.args(t)})
			const writers, batches, batch = 4, 25, 100 // 10,000 events
			user := "burst-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for b := range batches {
						evs := make([]audit.Event, batch)
						for i := range evs {
							evs[i] = audit.Event{Type: audit.LoginFailed, UserID: user, Time: srv.Clock.Now(),
								Detail: map[string]string{"n": fmt.Sprintf("%d-%d-%d", w, b, i)}}
						}
						if _, err := srv.App.Events.AppendEvents(t.Context(), evs...); err != nil {
							t.Errorf("writer %d: %v", w, err)
							return
						}
					}
				})
			}
			// A walk that starts during the burst sees, below its first
			// event, every event exactly once.
			during := walkEvents(t, srv, user, 250)
			wg.Wait()
			all := walkEvents(t, srv, user, 1000)
			checkWalk(t, all, writers*batches*batch)
			checkWalk(t, walkEvents(t, srv, user, 333), writers*batches*batch)
			// The walk made during the burst read exactly the events at or
			// below its first one: none that committed later with a lower
			// seq was missing.
			checkWalk(t, during, -1)
			if len(during) > 0 {
				var below []int64
				for _, s := range all {
					if s <= during[0] {
						below = append(below, s)
					}
				}
				if !slices.Equal(below, during) {
					t.Fatalf("the walk during the burst read %d events, but %d are at or below its first seq %d", len(during), len(below), during[0])
				}
			}
		})
	}
}

// walkEvents pages through the user's events with page size limit and
// returns their seqs in the order read.
func walkEvents(t *testing.T, srv *apptest.Server, user string, limit int) []int64 {
	t.Helper()
	var seqs []int64
	q := url.Values{"user_id": {user}, "limit": {strconv.Itoa(limit)}}
	for {
		var p eventPage
		srv.Admin().Do(t, http.MethodGet, "/admin/v1/events?"+q.Encode(), nil).WantStatus(t, http.StatusOK).Decode(t, &p)
		if len(p.Events) > limit {
			t.Fatalf("page of %d events, limit %d", len(p.Events), limit)
		}
		for _, e := range p.Events {
			seqs = append(seqs, e.Seq)
		}
		if p.NextCursor == "" {
			return seqs
		}
		q.Set("cursor", p.NextCursor)
	}
}

// checkWalk checks that seqs strictly decrease (so none is read twice)
// and, when want ≥ 0, that there are want of them. The events of the
// burst are all the user's, and seqs increase by one within the
// database's sequence only up to gaps, so completeness is checked by
// count.
func checkWalk(t *testing.T, seqs []int64, want int) {
	t.Helper()
	for i := 1; i < len(seqs); i++ {
		if seqs[i] >= seqs[i-1] {
			t.Fatalf("seq %d after %d: read twice or out of order", seqs[i], seqs[i-1])
		}
	}
	if want >= 0 && len(seqs) != want {
		t.Fatalf("walk read %d events, want %d", len(seqs), want)
	}
}

// TestAuditRetention: the sweep deletes events older than
// --audit-retention and keeps the rest; 0 keeps every event.
func TestAuditRetention(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantOld bool
	}{
		{"1h", []string{"--audit-retention", "1h"}, false},
		{"forever", []string{"--audit-retention", "0"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{Args: tc.args})
			old := srv.NewUser(t)
			srv.Clock.Advance(90 * time.Minute)
			fresh := srv.NewUser(t)
			if err := srv.App.Sweep(t.Context()); err != nil {
				t.Fatal(err)
			}
			gotOld := len(allEvents(t, srv, url.Values{"user_id": {old.ID}})) > 0
			gotFresh := len(allEvents(t, srv, url.Values{"user_id": {fresh.ID}})) > 0
			if gotOld != tc.wantOld || !gotFresh {
				t.Errorf("after the sweep: old user's events kept %v (want %v), fresh user's kept %v (want true)", gotOld, tc.wantOld, gotFresh)
			}
		})
	}
}
