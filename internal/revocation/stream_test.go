package revocation_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/revocation"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// sessions returns n session records with distinct ids.
func sessions(prefix string, n int) []store.Session {
	out := make([]store.Session, n)
	for i := range out {
		out[i].ID = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// drain reads a subscription until it has caught up.
func drain(t *testing.T, sub *revocation.Subscription) []store.Revocation {
	t.Helper()
	var all []store.Revocation
	for {
		evs, err := sub.Next(t.Context(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return all
		}
		all = append(all, evs...)
	}
}

// checkInOrder fails unless got is exactly the events of the store after
// cursor 0, each once, in Seq order.
func checkInOrder(t *testing.T, st store.RevocationStore, got []store.Revocation) {
	t.Helper()
	want, err := st.ListRevocations(t.Context(), 0, time.Now(), 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("the subscriber got %d events, the log holds %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Seq != want[i].Seq || got[i].SessionID != want[i].SessionID {
			t.Fatalf("event %d: got Seq %d %q, want Seq %d %q", i, got[i].Seq, got[i].SessionID, want[i].Seq, want[i].SessionID)
		}
	}
}

// TestSubscriberGetsEveryEventOfABurst revokes more records at once than
// the Log keeps in memory, for subscribers that read nothing meanwhile:
// each still receives every event exactly once and in order. (The old
// Log dropped what did not fit a 256-slot channel.)
func TestSubscriberGetsEveryEventOfABurst(t *testing.T) {
	st := newStore(t)
	l := revocation.NewLog(st, revocation.Config{MaxTokenLifetime: time.Hour, RecentEvents: 1000}, nil, nil)
	early := l.Subscribe(0)
	defer early.Close()
	if err := l.RevokeSessions(t.Context(), sessions("a", 300)); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	late := l.Subscribe(l.Published())
	defer late.Close()
	if err := l.RevokeSessions(t.Context(), sessions("b", 2500)); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-early.Ready():
	default:
		t.Fatal("the doorbell did not ring")
	}
	got := drain(t, early)
	checkInOrder(t, st, got)
	// The late subscriber gets the second burst, partly from the store
	// (it is larger than RecentEvents), partly from memory.
	if got := drain(t, late); len(got) != 2500 || got[0].SessionID != "b-0" || got[2499].SessionID != "b-2499" {
		t.Fatalf("the late subscriber got %d events", len(got))
	}
	// A third subscriber resuming from the middle of the first burst.
	mid := l.Subscribe(got[150].Seq)
	defer mid.Close()
	if rest := drain(t, mid); len(rest) != 2800-151 || rest[0].Seq != got[151].Seq {
		t.Fatalf("a subscriber resuming at event 151 got %d events", len(rest))
	}
}

// TestOwnEventPublishedAfterOlderOnes appends an event on another instance
// (straight to the store, before any notification) and then one locally:
// subscribers of the local instance must get the older event first, and
// at once (the append publishes without waiting for Run). The
// old Log published its own event at once, so a stream that reconnected
// from it skipped the older one.
func TestOwnEventPublishedAfterOlderOnes(t *testing.T) {
	st := newStore(t)
	l := revocation.NewLog(st, revocation.Config{MaxTokenLifetime: time.Hour}, nil, nil)
	if err := l.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	sub := l.Subscribe(l.Published())
	defer sub.Close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if _, err := st.AppendRevocations(t.Context(), []store.Revocation{{SessionID: "other", At: now, Expires: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if err := l.RevokeSessions(t.Context(), sessions("own", 1)); err != nil {
		t.Fatal(err)
	}
	if !l.Revoked("own-0", "", "", time.Time{}) {
		t.Fatal("the instance does not refuse its own revocation at once")
	}
	got := drain(t, sub)
	checkInOrder(t, st, got)
}

// failingStore fails every append.
type failingStore struct{ store.RevocationStore }

var errDown = errors.New("store down")

func (failingStore) AppendRevocations(context.Context, []store.Revocation) ([]store.Revocation, error) {
	return nil, errDown
}

// TestRevocationNotDurableIsAnError: a revocation the store did not take
// is an error and leaves nothing behind, so the caller answers with an
// error instead of a success that other instances never learn of.
func TestRevocationNotDurableIsAnError(t *testing.T) {
	l := revocation.NewLog(failingStore{newStore(t)}, revocation.Config{MaxTokenLifetime: time.Hour}, nil, nil)
	err := l.RevokeSessions(t.Context(), sessions("s", 1))
	if !errors.Is(err, errDown) {
		t.Fatalf("RevokeSessions = %v, want the store's error", err)
	}
	if l.Revoked("s-0", "", "", time.Time{}) {
		t.Error("a revocation that was not stored is in the set")
	}
}

// blockingNotifier's listener keeps running after its context ends until
// release is closed.
type blockingNotifier struct {
	release chan struct{}
	done    atomic.Bool
}

func (*blockingNotifier) Notify(context.Context) error { return nil }

func (n *blockingNotifier) Listen(ctx context.Context, _ func()) {
	<-ctx.Done()
	<-n.release
	n.done.Store(true)
}

// TestRunWaitsForListener: Run returns only after the Notifier's listener
// it started has returned (it used to leave it running).
func TestRunWaitsForListener(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &blockingNotifier{release: make(chan struct{})}
		l := revocation.NewLog(newStore(t), revocation.Config{MaxTokenLifetime: time.Hour, Notifier: n}, nil, nil)
		ctx, cancel := context.WithCancel(t.Context())
		returned := make(chan struct{})
		go func() { l.Run(ctx, time.Hour); close(returned) }()
		cancel()
		synctest.Wait()
		select {
		case <-returned:
			t.Fatal("Run returned while the listener it started was still running")
		default:
		}
		close(n.release)
		<-returned
		if !n.done.Load() {
			t.Fatal("the listener had not returned")
		}
	})
}
