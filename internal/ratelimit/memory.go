package ratelimit

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"
)

// DefaultMaxEntries is the default of MemoryConfig.MaxEntries.
const DefaultMaxEntries = 100_000

// MemoryConfig configures a Memory. The zero value is ready to use.
type MemoryConfig struct {
	// MaxEntries caps the number of keys held, and so the memory used: each
	// entry takes about 150 bytes whatever the length of its key, because
	// keys are stored as SHA-256 digests. When a new key arrives at the
	// cap, the entry closest to being forgotten is dropped, so an attacker
	// who sprays keys evicts entries with few failures long before a locked
	// out account. Zero or negative means DefaultMaxEntries (100,000,
	// about 15 MB).
	MaxEntries int
	// Now returns the current time. Nil means time.Now; tests inject a
	// fake clock so that they never sleep.
	Now func() time.Time
}

// Memory is a Limiter that keeps its state in process memory. It suits a
// single server; servers behind a load balancer need a shared backend.
//
// Memory needs no background goroutine and no Close: entries whose
// failures are all forgotten are swept by the calls that follow, in order
// of expiry.
type Memory struct {
	limit      Limit
	maxEntries int
	now        func() time.Time

	mu      sync.Mutex
	entries map[[sha256.Size]byte]*entry
	// byTAT orders entries by tat, soonest first, for sweeping and
	// eviction.
	byTAT entryHeap
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an empty Memory that applies limit to every key. It
// returns an error wrapping ErrInvalidLimit if limit is invalid.
func NewMemory(limit Limit, cfg MemoryConfig) (*Memory, error) {
	if err := limit.Validate(); err != nil {
		return nil, fmt.Errorf("ratelimit: new memory limiter: %w", err)
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Memory{
		limit:      limit,
		maxEntries: cfg.MaxEntries,
		now:        cfg.Now,
		entries:    make(map[[sha256.Size]byte]*entry),
	}, nil
}

// Allow reports whether key may attempt now. It records nothing and never
// returns an error.
func (m *Memory) Allow(_ context.Context, key string) (Decision, error) {
	id := sha256.Sum256([]byte(key))
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.sweep(now)
	var tat time.Time
	if e, ok := m.entries[id]; ok {
		tat = e.tat
	}
	return m.limit.decide(tat, now), nil
}

// Fail records one failed attempt for key and returns the decision for its
// next attempt. It never returns an error.
func (m *Memory) Fail(_ context.Context, key string) (Decision, error) {
	id := sha256.Sum256([]byte(key))
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.sweep(now)
	e, ok := m.entries[id]
	if ok {
		e.tat = m.limit.fail(e.tat, now)
		heap.Fix(&m.byTAT, e.index)
	} else {
		if len(m.entries) >= m.maxEntries {
			evicted := heap.Pop(&m.byTAT).(*entry)
			delete(m.entries, evicted.id)
		}
		e = &entry{id: id, tat: m.limit.fail(time.Time{}, now)}
		m.entries[id] = e
		heap.Push(&m.byTAT, e)
	}
	return m.limit.decide(e.tat, now), nil
}

// Reset forgets the failures of key. It never returns an error.
func (m *Memory) Reset(_ context.Context, key string) error {
	id := sha256.Sum256([]byte(key))
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[id]; ok {
		heap.Remove(&m.byTAT, e.index)
		delete(m.entries, id)
	}
	return nil
}

// Len returns the number of keys with failures not yet forgotten, at most
// MaxEntries. It is meant for metrics and tests.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(m.now())
	return len(m.entries)
}

// sweep drops the entries whose failures are all forgotten at now. The
// caller holds m.mu.
func (m *Memory) sweep(now time.Time) {
	for len(m.byTAT) > 0 && !m.byTAT[0].tat.After(now) {
		e := heap.Pop(&m.byTAT).(*entry)
		delete(m.entries, e.id)
	}
}

// entry is the state of one key.
type entry struct {
	id    [sha256.Size]byte
	tat   time.Time
	index int // in Memory.byTAT
}

// entryHeap is a min-heap of entries by tat, for container/heap.
type entryHeap []*entry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].tat.Before(h[j].tat) }
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
