package password

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/argon2"
	xargon2 "golang.org/x/crypto/argon2"
)

// testParams are cheap parameters that keep tests fast. Production uses
// DefaultParams.
func testParams() Params {
	return Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

func newTestHasher(t *testing.T, cfg Config) *Hasher {
	t.Helper()
	if cfg.Params == (Params{}) {
		cfg.Params = testParams()
	}
	h, err := NewHasher(cfg)
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	return h
}

func TestDefaultParams(t *testing.T) {
	want := Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if got := DefaultParams(); got != want {
		t.Fatalf("DefaultParams() = %+v, want %+v", got, want)
	}
	h, err := NewHasher(Config{})
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	if h.Params() != want {
		t.Errorf("zero Config gives params %+v, want %+v", h.Params(), want)
	}
	encoded, err := h.Hash(t.Context(), "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if !strings.HasPrefix(encoded, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("Hash = %q, want the default parameters", encoded)
	}
	ok, rehash, err := h.Verify(t.Context(), "correct horse battery staple", encoded)
	if !ok || rehash || err != nil {
		t.Errorf("Verify = %v, %v, %v, want true, false, nil", ok, rehash, err)
	}
}

func TestNewHasherDefaults(t *testing.T) {
	h, err := NewHasher(Config{Params: testParams()})
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	if got, want := cap(h.sem), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("MaxConcurrent = %d, want GOMAXPROCS = %d", got, want)
	}
	if h.maxWait != DefaultMaxWait {
		t.Errorf("MaxWait = %v, want %v", h.maxWait, DefaultMaxWait)
	}
}

func TestNewHasherInvalidParams(t *testing.T) {
	ok := testParams()
	with := func(f func(*Params)) Params { p := ok; f(&p); return p }
	tests := []struct {
		name   string
		params Params
	}{
		{"memory zero", with(func(p *Params) { p.Memory = 0 })},
		{"memory over 1 GiB", with(func(p *Params) { p.Memory = MaxMemory + 1 })},
		{"memory below 8 KiB per lane", with(func(p *Params) { p.Threads, p.Memory = 4, 31 })},
		{"time zero", with(func(p *Params) { p.Time = 0 })},
		{"time over the cap", with(func(p *Params) { p.Time = MaxTime + 1 })},
		{"threads zero", with(func(p *Params) { p.Threads = 0 })},
		{"threads over the cap", with(func(p *Params) { p.Threads, p.Memory = MaxThreads+1, 1024 })},
		{"salt too short", with(func(p *Params) { p.SaltLen = MinSaltLen - 1 })},
		{"salt too long", with(func(p *Params) { p.SaltLen = MaxSaltLen + 1 })},
		{"key too short", with(func(p *Params) { p.KeyLen = MinKeyLen - 1 })},
		{"key too long", with(func(p *Params) { p.KeyLen = MaxKeyLen + 1 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHasher(Config{Params: tt.params})
			if !errors.Is(err, ErrInvalidParams) || h != nil {
				t.Fatalf("NewHasher(%+v) = %v, %v, want nil, ErrInvalidParams", tt.params, h, err)
			}
		})
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	h := newTestHasher(t, Config{})
	passwords := []struct{ name, password string }{
		{"empty", ""},
		{"ascii", "correct horse battery staple"},
		{"unicode", "pässwörd 🔑 パスワード"},
		{"nul byte", "pass\x00word"},
		{"long", strings.Repeat("x", 4096)},
	}
	for _, tt := range passwords {
		t.Run(tt.name, func(t *testing.T) {
			encoded, err := h.Hash(t.Context(), tt.password)
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			if !strings.HasPrefix(encoded, "$argon2id$v=19$m=64,t=1,p=1$") {
				t.Errorf("Hash = %q, want the hasher's parameters", encoded)
			}
			p, salt, key, err := ParsePHC(encoded)
			if err != nil || p != testParams() || len(salt) != 16 || len(key) != 32 {
				t.Errorf("ParsePHC(Hash) = %+v, %d-byte salt, %d-byte key, %v", p, len(salt), len(key), err)
			}
			ok, rehash, err := h.Verify(t.Context(), tt.password, encoded)
			if !ok || rehash || err != nil {
				t.Errorf("Verify = %v, %v, %v, want true, false, nil", ok, rehash, err)
			}
			again, err := h.Hash(t.Context(), tt.password)
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			if again == encoded {
				t.Errorf("two hashes of one password are equal: the salt is not random")
			}
		})
	}
}

func TestVerifyReferenceHashes(t *testing.T) {
	h := newTestHasher(t, Config{})
	hashes := []string{refM64T1P1, refM64T2P2, refM256T3P2}
	if !testing.Short() {
		hashes = append(hashes, refM65536T2P1)
	}
	for _, encoded := range hashes {
		ok, _, err := h.Verify(t.Context(), "password", encoded)
		if !ok || err != nil {
			t.Errorf("Verify(%q) = %v, %v, want true, nil", encoded, ok, err)
		}
	}
}

// TestHashIsXCryptoArgon2id checks the hashes Hash writes against
// golang.org/x/crypto/argon2, which computed them before internal/argon2:
// a hash stored by either verifies with the other.
func TestHashIsXCryptoArgon2id(t *testing.T) {
	h := newTestHasher(t, Config{Params: Params{Memory: 1024, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}})
	for i := range 3 { // the second and third compute in reused memory
		encoded, err := h.Hash(t.Context(), "correct horse battery staple")
		if err != nil {
			t.Fatalf("Hash: %v", err)
		}
		p, salt, key, err := ParsePHC(encoded)
		if err != nil {
			t.Fatalf("ParsePHC(%q): %v", encoded, err)
		}
		want := xargon2.IDKey([]byte("correct horse battery staple"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		if !bytes.Equal(key, want) {
			t.Errorf("hash %d: key %x, x/crypto computes %x", i, key, want)
		}
	}
}

// TestHasherReusesMemory checks that computations after the first reuse
// its working memory.
func TestHasherReusesMemory(t *testing.T) {
	const kib = 4096
	h := newTestHasher(t, Config{Params: Params{Memory: kib, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if _, err := h.Hash(t.Context(), "pw"); err != nil {
		t.Fatalf("Hash: %v", err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 4 {
		runtime.GC() // collections do not take the Hasher's memory
		if _, err := h.Hash(t.Context(), "pw"); err != nil {
			t.Fatalf("Hash: %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	// One buffer is 4 MiB; four hashes in new memory would allocate 16.
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(256<<10); got > limit {
		t.Errorf("four hashes allocated %d bytes, want at most %d", got, limit)
	}
}

// TestHasherHoldsOneBufferPerSlot runs rounds of more concurrent hashes
// than slots, with collections in between: the Hasher allocates working
// memory for each slot once, and keeps no more than that.
func TestHasherHoldsOneBufferPerSlot(t *testing.T) {
	const kib, slots = 4096, 2
	h := newTestHasher(t, Config{Params: Params{Memory: kib, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, MaxConcurrent: slots, MaxWait: time.Minute})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 5 {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := h.Hash(t.Context(), "pw"); err != nil {
					t.Errorf("Hash: %v", err)
				}
			})
		}
		wg.Wait()
		if n := len(h.free); n > slots {
			t.Fatalf("the Hasher keeps %d buffers, want at most %d", n, slots)
		}
		runtime.GC()
		runtime.GC()
	}
	runtime.ReadMemStats(&after)
	// 40 hashes; one buffer per slot, and some slack for the rest.
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(slots*kib*1024+1<<20); got > limit {
		t.Errorf("40 hashes on %d slots allocated %d bytes, want at most %d (one buffer of %d per slot)", slots, got, limit, kib*1024)
	}
}

// TestHasherDropsIdleMemory checks that the Hasher lets its working memory
// go once no computation has used it for memoryIdle, and keeps it while
// computations come.
func TestHasherDropsIdleMemory(t *testing.T) {
	if memoryIdle < 10*time.Second {
		t.Errorf("memoryIdle %v: a login every few seconds would allocate anew", memoryIdle)
	}
	h := newTestHasher(t, Config{Params: Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	h.memoryIdle = time.Hour
	if _, err := h.Hash(t.Context(), "pw"); err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if len(h.free) != 1 {
		t.Fatalf("after a hash the Hasher keeps %d buffers, want 1", len(h.free))
	}
	// The timer fires while memory was put back recently: kept.
	h.dropIdleMemory()
	if len(h.free) != 1 {
		t.Fatal("memory used just now was dropped")
	}
	// Idle for longer than memoryIdle: dropped.
	h.mu.Lock()
	h.lastPut = time.Now().Add(-h.memoryIdle - time.Second)
	h.mu.Unlock()
	h.dropIdleMemory()
	if len(h.free) != 0 {
		t.Fatal("memory idle for longer than memoryIdle was kept")
	}

	// With the real timer: a short idle time empties it on its own, and
	// the next computation starts the count again.
	h = newTestHasher(t, Config{Params: Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	h.memoryIdle = 20 * time.Millisecond
	for round := range 2 {
		if _, err := h.Hash(t.Context(), "pw"); err != nil {
			t.Fatalf("Hash: %v", err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(h.free) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: memory kept 10 s past a 20 ms idle time", round)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestHasherKeepsItsOwnSize checks which working memory goes back to the
// pool: memory of the Hasher's cost or less, not memory grown for a stored
// hash of a larger one.
func TestHasherKeepsItsOwnSize(t *testing.T) {
	h := newTestHasher(t, Config{}) // m=64
	sized := func(kib uint32) *argon2.Memory {
		var m argon2.Memory
		m.IDKey([]byte("pw"), []byte("salt"), 1, kib, 1, 32)
		return &m
	}
	for _, c := range []struct {
		name string
		m    *argon2.Memory
		want bool
	}{
		{"unused", new(argon2.Memory), true},
		{"smaller", sized(32), true},
		{"the hasher's", sized(64), true},
		{"larger", sized(256), false},
	} {
		if got := h.keeps(c.m); got != c.want {
			t.Errorf("keeps(%s, %d bytes) = %v, want %v", c.name, c.m.Size(), got, c.want)
		}
	}
}

// TestConcurrentHashesAreXCrypto runs hashes and verifications at once,
// two lanes each, and checks every result with x/crypto: working memory
// shared between two computations would garble them.
func TestConcurrentHashesAreXCrypto(t *testing.T) {
	h := newTestHasher(t, Config{Params: Params{Memory: 256, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}, MaxConcurrent: 4, MaxWait: time.Minute})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 6 {
				password := fmt.Sprintf("password %d/%d", g, i)
				encoded, err := h.Hash(t.Context(), password)
				if err != nil {
					t.Errorf("Hash: %v", err)
					return
				}
				p, salt, key, err := ParsePHC(encoded)
				if err != nil {
					t.Errorf("ParsePHC(%q): %v", encoded, err)
					return
				}
				if want := xargon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen); !bytes.Equal(key, want) {
					t.Errorf("%s: key %x, x/crypto computes %x", password, key, want)
				}
				if ok, _, err := h.Verify(t.Context(), password, encoded); !ok || err != nil {
					t.Errorf("Verify(%s) = %v, %v, want true, nil", password, ok, err)
				}
				if ok, _, err := h.Verify(t.Context(), password+"!", encoded); ok || err != nil {
					t.Errorf("Verify(wrong password) = %v, %v, want false, nil", ok, err)
				}
			}
		})
	}
	wg.Wait()
}

func TestVerifyWrongPassword(t *testing.T) {
	h := newTestHasher(t, Config{})
	encoded, err := h.Hash(t.Context(), "Tr0ub4dor&3")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	wrong := []struct{ name, password string }{
		{"empty", ""},
		{"other", "correct horse battery staple"},
		{"case differs", "tr0ub4dor&3"},
		{"trailing space", "Tr0ub4dor&3 "},
		{"prefix", "Tr0ub4dor&"},
		{"trailing nul", "Tr0ub4dor&3\x00"},
	}
	for _, tt := range wrong {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(t.Context(), tt.password, encoded)
			if ok || rehash || err != nil {
				t.Errorf("Verify = %v, %v, %v, want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	current := testParams()
	with := func(f func(*Params)) Params { p := current; f(&p); return p }
	tests := []struct {
		name string
		old  Params
	}{
		{"less memory", with(func(p *Params) { p.Memory = 32 })},
		{"more memory", with(func(p *Params) { p.Memory = 128 })},
		{"more time", with(func(p *Params) { p.Time = 2 })},
		{"more threads", with(func(p *Params) { p.Threads = 2 })},
		{"shorter salt", with(func(p *Params) { p.SaltLen = 8 })},
		{"longer key", with(func(p *Params) { p.KeyLen = 64 })},
	}
	h := newTestHasher(t, Config{Params: current})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := newTestHasher(t, Config{Params: tt.old})
			encoded, err := old.Hash(t.Context(), "password")
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			ok, rehash, err := h.Verify(t.Context(), "password", encoded)
			if !ok || !rehash || err != nil {
				t.Errorf("Verify = %v, %v, %v, want true, true, nil", ok, rehash, err)
			}
			// A wrong password never asks for a rehash: the caller does not
			// hold the plaintext.
			ok, rehash, err = h.Verify(t.Context(), "wrong", encoded)
			if ok || rehash || err != nil {
				t.Errorf("Verify(wrong) = %v, %v, %v, want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := newTestHasher(t, Config{})
	var computed atomic.Int32
	h.testHookAcquired = func(Params) { computed.Add(1) }
	for _, tt := range malformedHashes() {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(t.Context(), "password", tt.in)
			if ok || rehash || !errors.Is(err, ErrMalformedHash) {
				t.Errorf("Verify = %v, %v, %v, want false, false, ErrMalformedHash", ok, rehash, err)
			}
		})
	}
	if n := computed.Load(); n != 0 {
		t.Errorf("Verify computed %d hashes for malformed input, want none", n)
	}
}

func TestVerifyDummy(t *testing.T) {
	// A hash stored with other params, to show that VerifyDummy costs what
	// a hash made with the hasher's own params costs.
	old := newTestHasher(t, Config{Params: Params{Memory: 32, Time: 3, Threads: 2, SaltLen: 8, KeyLen: 16}})
	encoded, err := old.Hash(t.Context(), "password")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	h := newTestHasher(t, Config{})
	var mu sync.Mutex
	var used []Params
	h.testHookAcquired = func(p Params) {
		mu.Lock()
		defer mu.Unlock()
		used = append(used, p)
	}
	for _, pw := range []string{"", "password", strings.Repeat("y", 1000)} {
		if err := h.VerifyDummy(t.Context(), pw); err != nil {
			t.Fatalf("VerifyDummy: %v", err)
		}
	}
	if _, _, err := h.Verify(t.Context(), "password", encoded); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := []Params{h.Params(), h.Params(), h.Params(), old.Params()}
	if len(used) != len(want) {
		t.Fatalf("computed with %+v, want %+v", used, want)
	}
	for i := range want {
		if used[i] != want[i] {
			t.Errorf("computation %d used %+v, want %+v", i, used[i], want[i])
		}
	}
}

// holdSlots makes the first n computations of h block, once they hold
// their slots, until release is called. entered receives one value per
// blocked computation.
func holdSlots(h *Hasher, n int32) (entered <-chan struct{}, release func()) {
	in := make(chan struct{}, n)
	gate := make(chan struct{})
	var count atomic.Int32
	h.testHookAcquired = func(Params) {
		if count.Add(1) <= n {
			in <- struct{}{}
			<-gate
		}
	}
	return in, sync.OnceFunc(func() { close(gate) })
}

// The tests below run in a synctest bubble: time.Now and timers use a fake
// clock that advances only when every goroutine is blocked, so waits are
// exact and cost no real time.

func TestBusyAfterMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxWait = 50 * time.Millisecond
		h := newTestHasher(t, Config{MaxConcurrent: 1, MaxWait: maxWait})
		entered, release := holdSlots(h, 1)
		first := make(chan error, 1)
		go func() {
			_, err := h.Hash(t.Context(), "first")
			first <- err
		}()
		<-entered

		start := time.Now()
		_, err := h.Hash(t.Context(), "second")
		if !errors.Is(err, ErrBusy) {
			t.Errorf("second Hash error = %v, want ErrBusy", err)
		}
		if waited := time.Since(start); waited != maxWait {
			t.Errorf("second Hash waited %v, want MaxWait = %v", waited, maxWait)
		}
		if _, _, err := h.Verify(t.Context(), "password", refM64T1P1); !errors.Is(err, ErrBusy) {
			t.Errorf("Verify error = %v, want ErrBusy", err)
		}
		if err := h.VerifyDummy(t.Context(), "password"); !errors.Is(err, ErrBusy) {
			t.Errorf("VerifyDummy error = %v, want ErrBusy", err)
		}

		release()
		if err := <-first; err != nil {
			t.Errorf("first Hash: %v", err)
		}
		// The slot is free again.
		if _, err := h.Hash(t.Context(), "third"); err != nil {
			t.Errorf("Hash after release: %v", err)
		}
	})
}

func TestWaitsForFreeSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTestHasher(t, Config{MaxConcurrent: 1, MaxWait: time.Minute})
		entered, release := holdSlots(h, 1)
		errs := make(chan error, 2)
		go func() {
			_, err := h.Hash(t.Context(), "first")
			errs <- err
		}()
		<-entered
		start := time.Now()
		go func() {
			_, err := h.Hash(t.Context(), "second")
			errs <- err
		}()
		synctest.Wait() // the second Hash is waiting for the slot
		release()
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("Hash: %v", err)
			}
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("second Hash waited %v after the slot was freed, want 0", waited)
		}
	})
}

func TestBoundsConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const slots, callers = 2, 5
		h := newTestHasher(t, Config{MaxConcurrent: slots, MaxWait: time.Minute})
		var running, peak atomic.Int32
		gate := make(chan struct{})
		h.testHookAcquired = func(Params) {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-gate
			running.Add(-1)
		}
		errs := make(chan error, callers)
		for i := range callers {
			go func() {
				var err error
				if i%2 == 0 {
					_, err = h.Hash(t.Context(), "password")
				} else {
					_, _, err = h.Verify(t.Context(), "password", refM64T1P1)
				}
				errs <- err
			}()
		}
		synctest.Wait()
		if n := running.Load(); n != slots {
			t.Errorf("%d computations running with %d callers, want MaxConcurrent = %d", n, callers, slots)
		}
		close(gate)
		for range callers {
			if err := <-errs; err != nil {
				t.Errorf("call failed: %v", err)
			}
		}
		if p := peak.Load(); p != slots {
			t.Errorf("peak concurrency %d, want %d", p, slots)
		}
	})
}

func TestBusyWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTestHasher(t, Config{MaxConcurrent: 1, MaxWait: time.Minute})
		entered, release := holdSlots(h, 1)
		defer release()
		go func() { _, _ = h.Hash(t.Context(), "first") }()
		<-entered

		ctx, cancel := context.WithCancel(t.Context())
		errs := make(chan error, 1)
		go func() {
			_, err := h.Hash(ctx, "second")
			errs <- err
		}()
		synctest.Wait()
		cancel()
		err := <-errs
		if !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
			t.Errorf("Hash error = %v, want ErrBusy and context.Canceled", err)
		}

		ctx, cancel = context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		_, err = h.Hash(ctx, "third")
		if !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Hash error = %v, want ErrBusy and context.DeadlineExceeded", err)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("Hash waited %v, want the context's 1s", waited)
		}
	})
}

func TestEndedContextComputesNothing(t *testing.T) {
	h := newTestHasher(t, Config{})
	var computed atomic.Int32
	h.testHookAcquired = func(Params) { computed.Add(1) }
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := h.Hash(ctx, "password"); !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Errorf("Hash error = %v, want ErrBusy and context.Canceled", err)
	}
	if _, _, err := h.Verify(ctx, "password", refM64T1P1); !errors.Is(err, ErrBusy) {
		t.Errorf("Verify error = %v, want ErrBusy", err)
	}
	if err := h.VerifyDummy(ctx, "password"); !errors.Is(err, ErrBusy) {
		t.Errorf("VerifyDummy error = %v, want ErrBusy", err)
	}
	if n := computed.Load(); n != 0 {
		t.Errorf("computed %d hashes for an ended context, want none", n)
	}
}

func TestNegativeMaxWaitFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTestHasher(t, Config{MaxConcurrent: 1, MaxWait: -1})
		entered, release := holdSlots(h, 1)
		defer release()
		go func() { _, _ = h.Hash(t.Context(), "first") }()
		<-entered
		start := time.Now()
		if _, err := h.Hash(t.Context(), "second"); !errors.Is(err, ErrBusy) {
			t.Errorf("Hash error = %v, want ErrBusy", err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("Hash waited %v, want 0", waited)
		}
	})
}

func BenchmarkHash(b *testing.B) {
	h, err := NewHasher(Config{Params: DefaultParams()})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := h.Hash(b.Context(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h, err := NewHasher(Config{Params: DefaultParams()})
	if err != nil {
		b.Fatal(err)
	}
	encoded, err := h.Hash(b.Context(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := h.Verify(b.Context(), "correct horse battery staple", encoded); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
