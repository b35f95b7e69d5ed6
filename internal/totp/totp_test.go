package totp

import (
	"bytes"
	"errors"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/seal"
)

// TestRFC6238Vectors checks the SHA-1 rows of RFC 6238 appendix B. The
// RFC prints 8-digit codes; a 6-digit code is the same value modulo 10^6,
// its last six digits.
func TestRFC6238Vectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	vectors := []struct {
		unix int64
		code string // 8 digits, as printed in the RFC
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	}
	for _, v := range vectors {
		at := time.Unix(v.unix, 0)
		want := v.code[2:]
		got, err := GenerateCode(secret, at)
		if err != nil || got != want {
			t.Errorf("GenerateCode(T=%d) = %q, %v; want %q", v.unix, got, err, want)
		}
		step, err := Validate(secret, want, at, -1)
		if err != nil || step != v.unix/30 {
			t.Errorf("Validate(T=%d) = %d, %v; want step %d", v.unix, step, err, v.unix/30)
		}
	}
}

func TestValidateWindow(t *testing.T) {
	secret := []byte("0123456789abcdefghij")
	now := time.Date(2026, 12, 6, 12, 0, 15, 0, time.UTC) // mid-step
	codeAtOffset := func(d time.Duration) string {
		c, err := GenerateCode(secret, now.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cases := []struct {
		name   string
		offset time.Duration
		want   error
	}{
		{"previous step", -30 * time.Second, nil},
		{"current step", 0, nil},
		{"next step", 30 * time.Second, nil},
		{"two steps before", -60 * time.Second, ErrInvalidCode},
		{"two steps after", 60 * time.Second, ErrInvalidCode},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			step, err := Validate(secret, codeAtOffset(c.offset), now, -1)
			if !errors.Is(err, c.want) {
				t.Fatalf("Validate = %d, %v; want %v", step, err, c.want)
			}
			if c.want == nil && step != Step(now.Add(c.offset)) {
				t.Errorf("step = %d, want %d", step, Step(now.Add(c.offset)))
			}
		})
	}
	t.Run("step boundaries", func(t *testing.T) {
		start := time.Unix(Step(now)*30, 0) // first second of the step
		for _, at := range []time.Time{start, start.Add(29 * time.Second)} {
			prev, _ := GenerateCode(secret, start.Add(-time.Second))
			if _, err := Validate(secret, prev, at, -1); err != nil {
				t.Errorf("code of the previous step at %v: %v", at, err)
			}
		}
		old, _ := GenerateCode(secret, start.Add(-31*time.Second))
		if _, err := Validate(secret, old, start, -1); !errors.Is(err, ErrInvalidCode) {
			t.Errorf("code two steps back at the step start: %v, want ErrInvalidCode", err)
		}
	})
}

func TestValidateReplay(t *testing.T) {
	secret := []byte("0123456789abcdefghij")
	now := time.Date(2026, 12, 6, 12, 0, 15, 0, time.UTC)
	code, _ := GenerateCode(secret, now)
	step, err := Validate(secret, code, now, -1)
	if err != nil {
		t.Fatal(err)
	}
	// The same code, later within its window: refused.
	for _, later := range []time.Duration{0, 10 * time.Second, 40 * time.Second} {
		if _, err := Validate(secret, code, now.Add(later), step); !errors.Is(err, ErrReplayed) {
			t.Errorf("same code %v later: %v, want ErrReplayed", later, err)
		}
	}
	// An earlier step's code after a later one was used: refused too.
	prev, _ := GenerateCode(secret, now.Add(-30*time.Second))
	if _, err := Validate(secret, prev, now, step); !errors.Is(err, ErrReplayed) {
		t.Errorf("earlier code after a later one: %v, want ErrReplayed", err)
	}
	// The next step's code is fine.
	next, _ := GenerateCode(secret, now.Add(30*time.Second))
	if got, err := Validate(secret, next, now.Add(30*time.Second), step); err != nil || got != step+1 {
		t.Errorf("next code = %d, %v; want %d", got, err, step+1)
	}
	// A wrong code stays ErrInvalidCode whatever lastUsed is.
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	if _, err := Validate(secret, wrong, now, step); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("wrong code: %v, want ErrInvalidCode", err)
	}
}

func TestParseCode(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"123456", "123456"},
		{"123 456", "123456"},
		{" 123456 ", "123456"},
		{"123-456", "123456"},
		{"12345", ""},
		{"1234567", ""},
		{"123--456", ""},
		{"12345a", ""},
		{"１２３４５６", ""}, // full-width digits are not ASCII digits
		{"", ""},
		{strings.Repeat(" ", 20) + "123456", ""},
	}
	for _, c := range cases {
		got, err := ParseCode(c.in)
		if c.want == "" {
			if !errors.Is(err, ErrInvalidCode) {
				t.Errorf("ParseCode(%q) = %q, %v; want ErrInvalidCode", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseCode(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestGenerate(t *testing.T) {
	e, err := Generate("Gatehouse", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Secret) != SecretSize {
		t.Errorf("secret is %d bytes, want %d", len(e.Secret), SecretSize)
	}
	u, err := url.Parse(e.URI)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Gatehouse:alice@example.com" {
		t.Errorf("URI = %s, want otpauth://totp/Gatehouse:alice@example.com", e.URI)
	}
	for k, want := range map[string]string{
		"secret": e.SecretBase32, "issuer": "Gatehouse", "algorithm": "SHA1", "digits": "6", "period": "30",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("URI %s = %q, want %q", k, got, want)
		}
	}
	other, _ := Generate("Gatehouse", "alice@example.com")
	if bytes.Equal(other.Secret, e.Secret) {
		t.Error("two enrolments share a secret")
	}
	if _, err := Generate("", "alice@example.com"); err == nil {
		t.Error("Generate without an issuer succeeded")
	}
	if _, err := Enroll("Gatehouse", "a@example.com", []byte("short")); err == nil {
		t.Error("Enroll with a 5-byte secret succeeded")
	}
}

func TestQRCodePNG(t *testing.T) {
	e, err := Generate("Gatehouse", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.QRCodePNG(256)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if r := img.Bounds(); r.Dx() != 256 || r.Dy() != 256 {
		t.Errorf("image is %v, want 256×256", r)
	}
}

func TestSealSecret(t *testing.T) {
	kek := [seal.KeySize]byte{1, 2, 3}
	secret := []byte("0123456789abcdefghij")
	sealed, err := SealSecret(kek, "user-1", "factor-1", secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed secret contains the plaintext")
	}
	got, err := OpenSecret(kek, "user-1", "factor-1", sealed)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("OpenSecret = %q, %v", got, err)
	}
	cases := map[string]struct {
		kek          [seal.KeySize]byte
		user, factor string
	}{
		"other KEK":    {[seal.KeySize]byte{9}, "user-1", "factor-1"},
		"other user":   {kek, "user-2", "factor-1"},
		"other factor": {kek, "user-1", "factor-2"},
		"shifted ids":  {kek, "user-1f", "actor-1"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := OpenSecret(c.kek, c.user, c.factor, sealed); !errors.Is(err, seal.ErrOpen) {
				t.Errorf("OpenSecret = %v, want seal.ErrOpen", err)
			}
		})
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "123-456", "", "abc", "12-34-56"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseCode(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("ParseCode(%q): unexpected error %v", in, err)
			}
			return
		}
		if len(got) != Digits || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("ParseCode(%q) = %q: not %d digits", in, got, Digits)
		}
		if again, err := ParseCode(got); err != nil || again != got {
			t.Fatalf("ParseCode not idempotent on %q: %q, %v", got, again, err)
		}
	})
}

func FuzzValidate(f *testing.F) {
	f.Add("123456", int64(1e9), int64(-1))
	f.Fuzz(func(t *testing.T, code string, unix, lastUsed int64) {
		secret := []byte("0123456789abcdefghij")
		step, err := Validate(secret, code, time.Unix(unix%(1<<40), 0), lastUsed)
		if err == nil && step <= lastUsed {
			t.Fatalf("accepted step %d <= last used %d", step, lastUsed)
		}
	})
}
