package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/argon2"
)

// DefaultMaxWait is the default of Config.MaxWait.
const DefaultMaxWait = 2 * time.Second

// Config configures a Hasher. The zero value is ready to use.
type Config struct {
	// Params are the parameters of new hashes; Verify reports needsRehash
	// for stored hashes made with different ones. The zero value means
	// DefaultParams(). NewHasher refuses Params outside this package's
	// limits (see MaxMemory and the other constants) but does not enforce a
	// minimum strength: choosing Params is the operator's decision.
	Params Params
	// MaxConcurrent bounds the number of Argon2 computations (by Hash,
	// Verify and VerifyDummy together) that run at once, and so the memory
	// they use to about MaxConcurrent*Params.Memory (Verify uses the memory
	// cost of the stored hash, which may differ, up to MaxMemory). Zero or
	// negative means runtime.GOMAXPROCS(0): Argon2 with p=1 keeps one CPU
	// busy, so more parallel computations would only add memory and
	// latency.
	MaxConcurrent int
	// MaxWait is how long a call waits for a free slot before it fails with
	// ErrBusy. Zero means DefaultMaxWait (2s); a negative value means do not
	// wait: fail at once when every slot is taken.
	MaxWait time.Duration
}

// A Hasher hashes and verifies passwords with Argon2id, bounding the number
// of computations that run at once. It is safe for concurrent use.
type Hasher struct {
	params  Params
	maxWait time.Duration
	// sem holds one token per running computation.
	sem chan struct{}
	// free holds Argon2 working memory between computations, at most one
	// buffer per slot: a computation takes one from it or, when it is
	// empty, allocates one, and puts it back when it is done. As at most
	// cap(sem) computations run at once, the working memory the Hasher
	// holds, in use or not, never exceeds cap(sem) buffers.
	free chan *argon2.Memory
	// memoryIdle is how long free keeps its buffers after the last
	// computation put one back; then they are dropped for the garbage
	// collector, and the runtime gives their pages back to the system.
	memoryIdle time.Duration
	// mu guards lastPut and dropTimer.
	mu sync.Mutex
	// lastPut is when a computation last put memory back.
	lastPut time.Time
	// dropTimer, while set, runs dropIdleMemory once free has been left
	// alone for memoryIdle.
	dropTimer *time.Timer
	// dummySalt and dummyKey make the hash that VerifyDummy checks
	// against: random, so no password matches it.
	dummySalt, dummyKey []byte
	// testHookAcquired, when set by tests, runs while a slot is held, just
	// before computing with the given params.
	testHookAcquired func(Params)
}

// NewHasher returns a Hasher configured by cfg, with the documented
// defaults for its zero fields. It returns an error wrapping
// ErrInvalidParams if cfg.Params are outside this package's limits.
func NewHasher(cfg Config) (*Hasher, error) {
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams()
	}
	if err := cfg.Params.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = runtime.GOMAXPROCS(0)
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	h := &Hasher{
		params:     cfg.Params,
		maxWait:    cfg.MaxWait,
		sem:        make(chan struct{}, cfg.MaxConcurrent),
		free:       make(chan *argon2.Memory, cfg.MaxConcurrent),
		memoryIdle: memoryIdle,
		dummySalt:  make([]byte, cfg.Params.SaltLen),
		dummyKey:   make([]byte, cfg.Params.KeyLen),
	}
	// crypto/rand.Read never fails (it crashes the program instead).
	_, _ = rand.Read(h.dummySalt)
	_, _ = rand.Read(h.dummyKey)
	return h, nil
}

// Params returns the parameters of the hashes h makes.
func (h *Hasher) Params() Params { return h.params }

// Hash returns a PHC string for password, with a fresh random salt. It
// returns an error wrapping ErrBusy if no computation slot is free within
// the configured wait or ctx ends first.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	_, _ = rand.Read(salt)
	key, err := h.derive(ctx, password, h.params, salt)
	if err != nil {
		return "", err
	}
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, a PHC string made by
// Hash (or by any Argon2id implementation, if canonical and within this
// package's limits). The comparison is constant-time.
//
// needsRehash is true only when ok is true and encoded was made with other
// Params than h's: the caller should then store a fresh Hash of the
// password, which it holds only now.
//
// A wrong password is ok=false with a nil error. A malformed encoded
// returns an error wrapping ErrMalformedHash, without computing anything;
// no free slot in time returns an error wrapping ErrBusy.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	p, salt, want, err := ParsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	got, err := h.derive(ctx, password, p, salt)
	if err != nil {
		return false, false, err
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// VerifyDummy does the work of a failed Verify against a hash made with h's
// Params, and returns only an error: one wrapping ErrBusy, as Verify would.
// Call it when the account does not exist, so that an unknown email costs
// the same time (and the same computation slot) as a wrong password and
// the response time does not reveal which accounts exist.
//
// It matches Verify's timing for stored hashes made with h's Params; an
// account whose hash has other Params (pending a rehash) takes their time.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	got, err := h.derive(ctx, password, h.params, h.dummySalt)
	if err != nil {
		return err
	}
	// Compare, as Verify does, so the work is the same; the dummy key is
	// random, so the result is false.
	_ = subtle.ConstantTimeCompare(got, h.dummyKey)
	return nil
}

// derive computes Argon2id of password with p and salt while holding a
// computation slot.
func (h *Hasher) derive(ctx context.Context, password string, p Params, salt []byte) ([]byte, error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	defer h.release()
	if h.testHookAcquired != nil {
		h.testHookAcquired(p)
	}
	m := h.takeMemory()
	key := m.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	h.putMemory(m)
	return key, nil
}

// memoryIdle is how long a Hasher keeps its working memory after the last
// computation (Hasher.memoryIdle).
const memoryIdle = time.Minute

// takeMemory returns working memory for one computation: a buffer an
// earlier one left, or new memory if there is none.
func (h *Hasher) takeMemory() *argon2.Memory {
	select {
	case m := <-h.free:
		return m
	default:
		return new(argon2.Memory)
	}
}

// putMemory keeps m for the next computation if h keeps it and has room,
// and (re)starts the count to dropping idle memory.
func (h *Hasher) putMemory(m *argon2.Memory) {
	if !h.keeps(m) {
		return
	}
	select {
	case h.free <- m:
	default:
		return
	}
	h.mu.Lock()
	h.lastPut = time.Now()
	if h.dropTimer == nil {
		h.dropTimer = time.AfterFunc(h.memoryIdle, h.dropIdleMemory)
	}
	h.mu.Unlock()
}

// dropIdleMemory empties free if no computation has put memory back for
// h.memoryIdle, and otherwise looks again when that time has passed since
// the last one. A computation racing with it may lose its buffer to the
// collector; the next one then allocates.
func (h *Hasher) dropIdleMemory() {
	h.mu.Lock()
	if idle := time.Since(h.lastPut); idle < h.memoryIdle {
		h.dropTimer.Reset(h.memoryIdle - idle)
		h.mu.Unlock()
		return
	}
	h.dropTimer = nil
	h.mu.Unlock()
	for {
		select {
		case <-h.free:
		default:
			return
		}
	}
}

// keeps reports whether working memory m is kept for the next computation:
// memory grown for a stored hash with a larger cost than h's is not, since
// the next computations would use a fraction of it.
func (h *Hasher) keeps(m *argon2.Memory) bool {
	return m.Size() <= int(h.params.Memory)*1024
}

// acquire takes a computation slot, waiting at most h.maxWait. It fails
// with ErrBusy on timeout, and with ErrBusy and ctx.Err() when ctx ends
// first (or has already ended: a gone client gets no computation).
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	default:
	}
	if h.maxWait < 0 {
		return fmt.Errorf("%w: all %d slots taken", ErrBusy, cap(h.sem))
	}
	timer := time.NewTimer(h.maxWait)
	defer timer.Stop()
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-timer.C:
		return fmt.Errorf("%w: no free slot within %v", ErrBusy, h.maxWait)
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

// release frees the slot taken by acquire.
func (h *Hasher) release() { <-h.sem }
