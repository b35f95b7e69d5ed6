package clocktest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
)

func TestClock(t *testing.T) {
	c := clocktest.New(clocktest.Epoch)
	if got := c.Now(); !got.Equal(clocktest.Epoch) {
		t.Fatalf("Now = %v, want %v", got, clocktest.Epoch)
	}
	if got := c.Advance(time.Second); !got.Equal(clocktest.Epoch.Add(time.Second)) || !c.Now().Equal(got) {
		t.Fatalf("Advance = %v, Now = %v, want %v", got, c.Now(), clocktest.Epoch.Add(time.Second))
	}
	c.Set(clocktest.Epoch)
	if got := c.Now(); !got.Equal(clocktest.Epoch) {
		t.Fatalf("after Set, Now = %v, want %v", got, clocktest.Epoch)
	}
}

// TestClockConcurrent is for -race: readers and a writer at once.
func TestClockConcurrent(t *testing.T) {
	c := clocktest.New(clocktest.Epoch)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				c.Now()
			}
		})
	}
	for range 100 {
		c.Advance(time.Millisecond)
	}
	wg.Wait()
	if got, want := c.Now(), clocktest.Epoch.Add(100*time.Millisecond); !got.Equal(want) {
		t.Fatalf("Now = %v, want %v", got, want)
	}
}
