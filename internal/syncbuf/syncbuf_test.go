package syncbuf

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestBufferConcurrent writes from many goroutines while reading (run
// with -race): nothing is lost and every line stays whole.
func TestBufferConcurrent(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				fmt.Fprintf(&b, "writer %d line %d\n", i, j)
				_ = b.String()
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines, want 800", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "writer ") || len(strings.Fields(l)) != 4 {
			t.Errorf("torn line %q", l)
		}
	}
}
