package argon2

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// blockFunctions runs f with each block function this machine has: the
// SSE4.1 assembly where the CPU has it, and the generic Go code.
func blockFunctions(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	defer func(sse4 bool) { useSSE4 = sse4 }(useSSE4)
	if useSSE4 {
		t.Run("sse4", f)
		useSSE4 = false
	}
	t.Run("generic", f)
}

// TestBlockFunctionsAgree holds processBlock and processBlockXOR (the
// assembly on amd64, with and without SSE4.1) to the Go block function on
// random blocks, so the Go one, which other architectures and purego
// builds run, is checked here too.
func TestBlockFunctionsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func() *block {
		var b block
		for i := range b {
			b[i] = rng.Uint64()
		}
		return &b
	}
	blockFunctions(t, func(t *testing.T) {
		for i := range 200 {
			in1, in2, out := random(), random(), random()
			got, want := *out, *out
			processBlock(&got, in1, in2)
			processBlockGeneric(&want, in1, in2, false)
			if got != want {
				t.Fatalf("case %d: processBlock differs from the Go block function", i)
			}
			got, want = *out, *out
			processBlockXOR(&got, in1, in2)
			processBlockGeneric(&want, in1, in2, true)
			if got != want {
				t.Fatalf("case %d: processBlockXOR differs from the Go block function", i)
			}
			// In place, as the address blocks are computed.
			got, want = *in1, *in1
			processBlock(&got, &got, in2)
			processBlockGeneric(&want, &want, in2, false)
			if got != want {
				t.Fatalf("case %d: processBlock in place differs from the Go block function", i)
			}
		}
	})
}

// TestIDKeyKnownAnswers checks the Argon2id vectors of the reference
// implementation (password "password", salt "somesalt"), as x/crypto's
// tests list them.
func TestIDKeyKnownAnswers(t *testing.T) {
	vectors := []struct {
		time, memory uint32
		threads      uint8
		hash         string
	}{
		{1, 64, 1, "655ad15eac652dc59f7170a7332bf49b8469be1fdb9c28bb"},
		{2, 64, 1, "068d62b26455936aa6ebe60060b0a65870dbfa3ddf8d41f7"},
		{2, 64, 2, "350ac37222f436ccb5c0972f1ebd3bf6b958bf2071841362"},
		{3, 256, 2, "4668d30ac4187e6878eedeacf0fd83c5a0a30db2cc16ef0b"},
		{4, 4096, 4, "145db9733a9f4ee43edf33c509be96b934d505a4efb33c5a"},
		{4, 1024, 8, "8dafa8e004f8ea96bf7c0f93eecf67a6047476143d15577f"},
		{2, 64, 3, "4a15b31aec7c2590b87d1f520be7d96f56658172deaa3079"},
		{3, 1024, 6, "1640b932f4b60e272f5d2207b9a9c626ffa1bd88d2349016"},
	}
	blockFunctions(t, func(t *testing.T) {
		// One Memory for every vector, in this order: each computation
		// runs in what the one before left, smaller or larger.
		var m Memory
		for _, v := range vectors {
			want, _ := hex.DecodeString(v.hash)
			got := m.IDKey([]byte("password"), []byte("somesalt"), v.time, v.memory, v.threads, uint32(len(want)))
			if !bytes.Equal(got, want) {
				t.Errorf("t=%d m=%d p=%d: got %x, want %x", v.time, v.memory, v.threads, got, want)
			}
		}
	})
}

// TestIDKeyMatchesXCrypto compares IDKey with x/crypto's on fresh memory,
// on memory a larger computation left, and on memory full of random bytes.
func TestIDKeyMatchesXCrypto(t *testing.T) {
	cases := []struct {
		password, salt string
		time, memory   uint32
		threads        uint8
		keyLen         uint32
	}{
		{"correct horse battery staple", "0123456789abcdef", 2, 19 * 1024, 1, 32},
		{"", "", 1, 8, 1, 4},
		{"p", "s", 1, 7, 2, 16},        // memory below 2*syncPoints*threads
		{"pw", "salt", 3, 1001, 3, 64}, // memory not a multiple of 4*threads
		{"pw", "salt", 1, 513, 4, 65},  // key longer than one BLAKE2b output
		{"pw", "salt", 2, 2048, 1, 128},
		{string(bytes.Repeat([]byte{0xff}, 300)), "s", 1, 64, 1, 32},
	}
	blockFunctions(t, func(t *testing.T) {
		for _, c := range cases {
			name := fmt.Sprintf("t=%d,m=%d,p=%d,len=%d", c.time, c.memory, c.threads, c.keyLen)
			t.Run(name, func(t *testing.T) {
				want := xargon2.IDKey([]byte(c.password), []byte(c.salt), c.time, c.memory, c.threads, c.keyLen)

				var fresh Memory
				if got := fresh.IDKey([]byte(c.password), []byte(c.salt), c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
					t.Fatalf("fresh memory: got %x, want %x", got, want)
				}
				// Again in what that computation left.
				if got := fresh.IDKey([]byte(c.password), []byte(c.salt), c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
					t.Fatalf("memory of the same computation: got %x, want %x", got, want)
				}

				var larger Memory
				larger.IDKey([]byte("other"), []byte("other salt"), 1, 4*c.memory+64, 1, 32)
				if got := larger.IDKey([]byte(c.password), []byte(c.salt), c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
					t.Fatalf("memory of a larger computation: got %x, want %x", got, want)
				}

				noisy := Memory{blocks: make([]block, c.memory+64)}
				rng := rand.New(rand.NewPCG(uint64(c.memory), uint64(c.time)))
				for i := range noisy.blocks {
					for j := range noisy.blocks[i] {
						noisy.blocks[i][j] = rng.Uint64()
					}
				}
				if got := noisy.IDKey([]byte(c.password), []byte(c.salt), c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
					t.Fatalf("memory of random bytes: got %x, want %x", got, want)
				}
			})
		}
	})
}

// TestIDKeyReusesMemory checks that a computation in a Memory large enough
// allocates next to nothing, and that a larger one grows it.
func TestIDKeyReusesMemory(t *testing.T) {
	const kib = 4096
	var m Memory
	m.IDKey([]byte("pw"), []byte("salt"), 1, kib, 1, 32)
	if got, want := m.Size(), kib*1024; got != want {
		t.Fatalf("Size after a %d KiB computation = %d, want %d", kib, got, want)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m.IDKey([]byte("pw"), []byte("salt"), 1, kib, 1, 32)
	m.IDKey([]byte("pw"), []byte("salt"), 1, kib/2, 1, 32)
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10 {
		t.Errorf("two computations in a %d KiB Memory allocated %d bytes, want under 64 KiB", kib, got)
	}
	if got, want := m.Size(), kib*1024; got != want {
		t.Errorf("Size after a smaller computation = %d, want %d (kept)", got, want)
	}
	m.IDKey([]byte("pw"), []byte("salt"), 1, 2*kib, 1, 32)
	if got, want := m.Size(), 2*kib*1024; got != want {
		t.Errorf("Size after a larger computation = %d, want %d", got, want)
	}
}

func TestIDKeyPanics(t *testing.T) {
	for _, c := range []struct {
		name          string
		time, threads uint32
	}{{"time 0", 0, 1}, {"threads 0", 1, 0}} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("IDKey did not panic")
				}
			}()
			var m Memory
			m.IDKey([]byte("pw"), []byte("salt"), c.time, 64, uint8(c.threads), 32)
		})
	}
}

// FuzzIDKey compares IDKey with x/crypto's on every input, in one Memory
// that every earlier input has left dirty.
func FuzzIDKey(f *testing.F) {
	f.Add([]byte("password"), []byte("somesalt"), uint8(1), uint16(64), uint8(1), uint8(24))
	f.Add([]byte(""), []byte(""), uint8(2), uint16(9), uint8(2), uint8(65))
	f.Add([]byte("x"), []byte("y"), uint8(3), uint16(300), uint8(5), uint8(4))
	var m Memory
	f.Fuzz(func(t *testing.T, password, salt []byte, time uint8, memory uint16, threads, keyLen uint8) {
		tm := uint32(time%3) + 1
		mem := uint32(memory % 1024)
		p := threads%6 + 1
		kl := uint32(keyLen%96) + 4
		want := xargon2.IDKey(password, salt, tm, mem, p, kl)
		if got := m.IDKey(password, salt, tm, mem, p, kl); !bytes.Equal(got, want) {
			t.Fatalf("t=%d m=%d p=%d len=%d: got %x, want %x", tm, mem, p, kl, got, want)
		}
	})
}

// BenchmarkIDKey compares x/crypto's IDKey (new memory every call) with
// IDKey in a reused Memory, at the default parameters (19 MiB, t=2, p=1).
func BenchmarkIDKey(b *testing.B) {
	password, salt := []byte("correct horse battery staple"), []byte("0123456789abcdef")
	b.Run("x-crypto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			xargon2.IDKey(password, salt, 2, 19*1024, 1, 32)
		}
	})
	b.Run("reused-memory", func(b *testing.B) {
		b.ReportAllocs()
		var m Memory
		for b.Loop() {
			m.IDKey(password, salt, 2, 19*1024, 1, 32)
		}
	})
}
