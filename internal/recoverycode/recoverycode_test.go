package recoverycode

import (
	"bytes"
	"errors"
	"regexp"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/seal"
)

func newHasher(t *testing.T, kek [seal.KeySize]byte) *Hasher {
	t.Helper()
	h, err := NewHasher(kek)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func testHasher(t *testing.T) *Hasher { return newHasher(t, [seal.KeySize]byte{1, 2, 3}) }

func TestGenerate(t *testing.T) {
	h := testHasher(t)
	codes, hashes := h.Generate("user-1")
	if len(codes) != Count || len(hashes) != Count {
		t.Fatalf("got %d codes and %d hashes, want %d", len(codes), len(hashes), Count)
	}
	format := regexp.MustCompile(`^[a-z2-7]{5}-[a-z2-7]{5}$`)
	seen := map[string]bool{}
	for i, c := range codes {
		if !format.MatchString(c) {
			t.Errorf("code %q is not xxxxx-xxxxx in lower-case base32", c)
		}
		if seen[c] {
			t.Errorf("code %q twice", c)
		}
		seen[c] = true
		if bytes.Contains(hashes[i], []byte(c[:5])) {
			t.Errorf("hash %x contains its code", hashes[i])
		}
		if got := h.Match("user-1", c, hashes); got != i {
			t.Errorf("Match(%q) = %d, want %d", c, got, i)
		}
	}
	again, _ := h.Generate("user-1")
	for _, c := range again {
		if seen[c] {
			t.Errorf("a second set repeats %q", c)
		}
	}
}

func TestMatch(t *testing.T) {
	h := testHasher(t)
	codes, hashes := h.Generate("user-1")
	c := codes[3]
	cases := []struct {
		name   string
		hasher *Hasher
		user   string
		input  string
		want   int
	}{
		{"printed form", h, "user-1", c, 3},
		{"upper case", h, "user-1", "  " + string(bytes.ToUpper([]byte(c))), 3},
		{"without hyphen", h, "user-1", c[:5] + c[6:], 3},
		{"other user", h, "user-2", c, -1},
		{"other KEK", newHasher(t, [seal.KeySize]byte{9}), "user-1", c, -1},
		{"one character off", h, "user-1", flip(c), -1},
		{"malformed", h, "user-1", "not a code!", -1},
		{"empty", h, "user-1", "", -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.hasher.Match(tc.user, tc.input, hashes); got != tc.want {
				t.Errorf("Match(%q) = %d, want %d", tc.input, got, tc.want)
			}
		})
	}
	if _, err := h.Hash("user-1", "short"); !errors.Is(err, ErrMalformed) {
		t.Errorf("Hash(short) = %v, want ErrMalformed", err)
	}
	sum, err := h.Hash("user-1", c)
	if err != nil || !bytes.Equal(sum, hashes[3]) {
		t.Errorf("Hash = %x, %v; want the stored %x", sum, err, hashes[3])
	}
}

func flip(c string) string {
	b := []byte(c)
	if b[0] == 'a' {
		b[0] = 'b'
	} else {
		b[0] = 'a'
	}
	return string(b)
}

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"abcde-fghij", "abcdefghij"},
		{"ABCDE FGHIJ", "abcdefghij"},
		{"abcdefghij", "abcdefghij"},
		{"a-b-c-d-e-f-g-h-i-j", "abcdefghij"},
		{"0l1b8-22222", "ollbb22222"},
		{"abcde-fghi", ""},
		{"abcde-fghijk", ""},
		{"abcde_fghij", ""},
		{"abcde-fghi9", ""}, // 9 is not base32 and resembles nothing
		{"abcde-fghié", ""},
		{"", ""},
	}
	for _, c := range cases {
		got, err := Normalize(c.in)
		if c.want == "" {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Normalize(%q) = %q, %v; want ErrMalformed", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"abcde-fghij", "ABCDE FGHIJ", "0l1b8-22222", "", "-----", "abcde-fghié"} {
		f.Add(s)
	}
	valid := regexp.MustCompile(`^[a-z2-7]{10}$`)
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Normalize(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Normalize(%q): unexpected error %v", in, err)
			}
			return
		}
		if !valid.MatchString(got) {
			t.Fatalf("Normalize(%q) = %q, not 10 lower-case base32 characters", in, got)
		}
		if again, err := Normalize(got); err != nil || again != got {
			t.Fatalf("Normalize not idempotent on %q: %q, %v", got, again, err)
		}
	})
}
