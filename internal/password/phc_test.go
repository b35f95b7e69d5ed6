package password

import (
	"errors"
	"strings"
	"testing"
)

// Hashes computed by the Argon2 reference implementation (the vectors of
// golang.org/x/crypto/argon2 and of phc-winner-argon2's test.c) for the
// password "password" and the salt "somesalt".
const (
	refM64T1P1  = "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"
	refM64T2P2  = "$argon2id$v=19$m=64,t=2,p=2$c29tZXNhbHQ$NQrDciL0Nsy1wJcvHr079rlYvyBxhBNi"
	refM256T3P2 = "$argon2id$v=19$m=256,t=3,p=2$c29tZXNhbHQ$RmjTCsQYfmh47t6s8P2DxaCjDbLMFu8L"
	// refM65536T2P1 is the encoded string printed by phc-winner-argon2's
	// test.c; it costs 64 MiB to verify.
	refM65536T2P1 = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
)

func TestParsePHC(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Params
		saltLen int
	}{
		{"reference m=64,t=1,p=1", refM64T1P1, Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 24}, 8},
		{"reference m=64,t=2,p=2", refM64T2P2, Params{Memory: 64, Time: 2, Threads: 2, SaltLen: 8, KeyLen: 24}, 8},
		{"reference m=65536,t=2,p=1", refM65536T2P1, Params{Memory: 65536, Time: 2, Threads: 1, SaltLen: 8, KeyLen: 32}, 8},
		{
			"at the limits",
			"$argon2id$v=19$m=1048576,t=16,p=16$" + strings.Repeat("A", 86) + "$" + strings.Repeat("A", 86),
			Params{Memory: MaxMemory, Time: MaxTime, Threads: MaxThreads, SaltLen: MaxSaltLen, KeyLen: MaxKeyLen}, 64,
		},
		{
			"minimum memory for p=2",
			"$argon2id$v=19$m=16,t=1,p=2$c29tZXNhbHQ$" + strings.Repeat("A", 22),
			Params{Memory: 16, Time: 1, Threads: 2, SaltLen: 8, KeyLen: 16}, 8,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, salt, key, err := ParsePHC(tt.in)
			if err != nil {
				t.Fatalf("ParsePHC: %v", err)
			}
			if p != tt.want {
				t.Errorf("params = %+v, want %+v", p, tt.want)
			}
			if len(salt) != tt.saltLen || len(key) != int(tt.want.KeyLen) {
				t.Errorf("len(salt), len(key) = %d, %d, want %d, %d", len(salt), len(key), tt.saltLen, tt.want.KeyLen)
			}
			if got := encodePHC(p, salt, key); got != tt.in {
				t.Errorf("encodePHC = %q, want %q", got, tt.in)
			}
		})
	}
}

// malformedHashes returns strings that ParsePHC must reject, by reason.
func malformedHashes() []struct{ name, in string } {
	return []struct{ name, in string }{
		{"empty", ""},
		{"plain text", "hunter2"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"algorithm in upper case", "$ARGON2ID$v=19$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"no version", "$argon2id$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"version 16", "$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"version with leading zero", "$argon2id$v=019$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"no leading dollar", "argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"leading space", " $argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"trailing newline", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7\n"},
		{"extra field", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7$"},
		{"no hash", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ"},
		{"parameters out of order", "$argon2id$v=19$t=1,m=64,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"parameter missing", "$argon2id$v=19$m=64,t=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"optional parameter", "$argon2id$v=19$m=64,t=1,p=1,keyid=AAAA$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"parameter with space", "$argon2id$v=19$m=64, t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"empty parameter", "$argon2id$v=19$m=,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"leading zero", "$argon2id$v=19$m=064,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"plus sign", "$argon2id$v=19$m=+64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"negative", "$argon2id$v=19$m=-64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"hexadecimal", "$argon2id$v=19$m=0x40,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"memory overflows 32 bits", "$argon2id$v=19$m=4294967296,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"memory over 1 GiB", "$argon2id$v=19$m=1048577,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"memory 4 GiB", "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"memory zero", "$argon2id$v=19$m=0,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"memory below 8 KiB per lane", "$argon2id$v=19$m=15,t=1,p=2$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"time zero", "$argon2id$v=19$m=64,t=0,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"time over the cap", "$argon2id$v=19$m=64,t=17,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"time huge", "$argon2id$v=19$m=64,t=4294967295,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"threads zero", "$argon2id$v=19$m=64,t=1,p=0$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"threads over the cap", "$argon2id$v=19$m=1024,t=1,p=17$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"threads overflow 8 bits", "$argon2id$v=19$m=4096,t=1,p=257$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"empty salt", "$argon2id$v=19$m=64,t=1,p=1$$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"salt of 4 bytes", "$argon2id$v=19$m=64,t=1,p=1$c29tZQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"salt of 65 bytes", "$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 87) + "$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"salt with padding", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ=$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"salt with newline", "$argon2id$v=19$m=64,t=1,p=1$c29tZX\nNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"salt with carriage return", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ\r$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"salt in URL alphabet", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNh-_Q$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"salt with non-zero trailing bits", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHR$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"salt of impossible length", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQAA$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi7"},
		{"empty hash", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$"},
		{"hash of 8 bytes", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$c29tZXNhbHQ"},
		{"hash of 65 bytes", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$" + strings.Repeat("A", 87)},
		{"hash with invalid character", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$ZVrRXqxlLcWfcXCnMyv0m4Rpvh/bnCi*"},
		{"very long", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$" + strings.Repeat("A", 1<<20)},
	}
}

func TestParsePHCMalformed(t *testing.T) {
	for _, tt := range malformedHashes() {
		t.Run(tt.name, func(t *testing.T) {
			p, salt, key, err := ParsePHC(tt.in)
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("ParsePHC(%.80q) error = %v, want ErrMalformedHash", tt.in, err)
			}
			if p != (Params{}) || salt != nil || key != nil {
				t.Errorf("ParsePHC returned values with an error: %+v, %x, %x", p, salt, key)
			}
		})
	}
}

func FuzzParsePHC(f *testing.F) {
	for _, s := range []string{refM64T1P1, refM64T2P2, refM256T3P2, refM65536T2P1} {
		f.Add(s)
	}
	f.Add(encodePHC(DefaultParams(), make([]byte, 16), make([]byte, 32)))
	for _, tt := range malformedHashes() {
		if len(tt.in) <= maxEncodedLen {
			f.Add(tt.in)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := ParsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("error %v does not wrap ErrMalformedHash", err)
			}
			if p != (Params{}) || salt != nil || key != nil {
				t.Fatalf("values returned with an error: %+v, %x, %x", p, salt, key)
			}
			return
		}
		// Only canonical strings parse, so encoding the result must give
		// back the input exactly.
		if got := encodePHC(p, salt, key); got != s {
			t.Fatalf("ParsePHC(%q) re-encodes as %q", s, got)
		}
		if p.SaltLen != uint32(len(salt)) || p.KeyLen != uint32(len(key)) {
			t.Fatalf("params %+v do not match len(salt)=%d, len(key)=%d", p, len(salt), len(key))
		}
		if err := p.validate(); err != nil {
			t.Fatalf("parsed params %+v are out of limits: %v", p, err)
		}
	})
}
