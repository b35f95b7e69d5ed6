package password

import "fmt"

// Limits on Argon2id parameters. NewHasher refuses Params outside them and
// ParsePHC rejects stored hashes outside them, so that one bad database row
// cannot make a single verification allocate more than MaxMemory or run for
// more than MaxTime passes over it.
const (
	// MinMemory is the smallest memory cost, in KiB, that Argon2 allows per
	// lane (RFC 9106, section 3.1: m >= 8*p); the check is 8*Threads.
	MinMemory uint32 = 8
	// MaxMemory is the largest memory cost accepted: 1 GiB, in KiB.
	MaxMemory uint32 = 1 << 20
	// MaxTime is the largest number of passes accepted.
	MaxTime uint32 = 16
	// MaxThreads is the largest degree of parallelism accepted.
	MaxThreads uint8 = 16
	// MinSaltLen is the shortest salt accepted, in bytes (RFC 9106
	// requires at least 8; 16 is recommended and is the default).
	MinSaltLen uint32 = 8
	// MaxSaltLen is the longest salt accepted, in bytes.
	MaxSaltLen uint32 = 64
	// MinKeyLen is the shortest hash accepted, in bytes.
	MinKeyLen uint32 = 16
	// MaxKeyLen is the longest hash accepted, in bytes.
	MaxKeyLen uint32 = 64
)

// Params are the cost parameters of Argon2id and the lengths of its salt and
// output. Two hashes made with equal Params cost the same to verify.
type Params struct {
	// Memory is the memory cost m, in KiB.
	Memory uint32
	// Time is the number of passes t over the memory.
	Time uint32
	// Threads is the degree of parallelism p.
	Threads uint8
	// SaltLen is the length of the random salt, in bytes.
	SaltLen uint32
	// KeyLen is the length of the derived hash, in bytes.
	KeyLen uint32
}

// DefaultParams returns the OWASP Password Storage Cheat Sheet's
// recommended Argon2id configuration: m=19456 KiB (19 MiB), t=2, p=1, with
// a 16-byte salt and a 32-byte hash.
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// validate reports whether p lies within this package's limits; the error
// says which parameter does not.
func (p Params) validate() error {
	switch {
	case p.Threads < 1 || p.Threads > MaxThreads:
		return fmt.Errorf("threads p=%d not in [1, %d]", p.Threads, MaxThreads)
	case p.Memory < MinMemory*uint32(p.Threads) || p.Memory > MaxMemory:
		return fmt.Errorf("memory m=%d KiB not in [%d*p, %d]", p.Memory, MinMemory, MaxMemory)
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("time t=%d not in [1, %d]", p.Time, MaxTime)
	case p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen:
		return fmt.Errorf("salt length %d not in [%d, %d]", p.SaltLen, MinSaltLen, MaxSaltLen)
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return fmt.Errorf("key length %d not in [%d, %d]", p.KeyLen, MinKeyLen, MaxKeyLen)
	}
	return nil
}
