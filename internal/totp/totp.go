package totp

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	pqtotp "github.com/pquerna/otp/totp"
)

// The fixed TOTP parameters (RFC 6238 section 4, and what the HTTP
// contract promises): HMAC-SHA-1, 6 digits, 30-second steps.
const (
	// Period is the length of one time step.
	Period = 30 * time.Second
	// Digits is the length of a code.
	Digits = 6
	// Skew is how many steps before and after the current one are
	// accepted, for clock drift and typing time: one either side, so a
	// code lives about 90 seconds (RFC 6238 section 5.2 recommends at
	// most one step of network delay).
	Skew = 1
	// SecretSize is the length of a generated secret in bytes: 160 bits,
	// the HMAC-SHA-1 output size that RFC 4226 section 4 recommends.
	SecretSize = 20
)

// Errors of Validate. A caller answers both the same way to the client
// (a wrong code), and counts both toward the login limit.
var (
	// ErrInvalidCode reports a code that is malformed or matches no
	// accepted step.
	ErrInvalidCode = errors.New("totp: invalid code")
	// ErrReplayed reports a code that matches a step at or before the last
	// used one: it, or a later code, was accepted already.
	ErrReplayed = errors.New("totp: code already used")
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

var opts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Enrollment is a newly generated TOTP secret, to be shown once to the
// user and stored sealed (see SealSecret) until confirmed.
type Enrollment struct {
	// Secret is the raw shared secret (SecretSize bytes).
	Secret []byte
	// SecretBase32 is Secret in unpadded base32, as users type it into an
	// authenticator app.
	SecretBase32 string
	// URI is the otpauth://totp/ key URI for QR codes and links.
	URI string
}

// Generate returns a new random secret for account (the user's email
// address) at issuer (the product name shown in authenticator apps).
func Generate(issuer, account string) (Enrollment, error) {
	secret := make([]byte, SecretSize)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails (Go 1.24+)
	return Enroll(issuer, account, secret)
}

// Enroll is Generate with a given secret: the enrolment of an existing
// secret, such as one opened from the store to show it again before
// confirmation.
func Enroll(issuer, account string, secret []byte) (Enrollment, error) {
	if len(secret) < 16 {
		return Enrollment{}, fmt.Errorf("totp: secret of %d bytes, want at least 16", len(secret))
	}
	key, err := pqtotp.Generate(pqtotp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      uint(Period / time.Second),
		Secret:      secret,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return Enrollment{}, fmt.Errorf("totp: enrol: %w", err)
	}
	return Enrollment{Secret: secret, SecretBase32: key.Secret(), URI: key.URL()}, nil
}

// QRCodePNG returns the enrolment URI as a QR code: a size×size PNG image.
func (e Enrollment) QRCodePNG(size int) ([]byte, error) {
	key, err := otp.NewKeyFromURL(e.URI)
	if err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	img, err := key.Image(size, size)
	if err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	return buf.Bytes(), nil
}

// Step returns the RFC 6238 time step of t: the number of whole periods
// since the Unix epoch.
func Step(t time.Time) int64 {
	return t.Unix() / int64(Period/time.Second)
}

// GenerateCode returns the code of secret at time t. The server never
// needs it; tests and tools use it to act as an authenticator app.
func GenerateCode(secret []byte, t time.Time) (string, error) {
	return codeAt(secret, Step(t))
}

func codeAt(secret []byte, step int64) (string, error) {
	c, err := hotp.GenerateCodeCustom(b32.EncodeToString(secret), uint64(step), opts)
	if err != nil {
		return "", fmt.Errorf("totp: %w", err)
	}
	return c, nil
}

// Validate checks code against secret at time now. It accepts the code of
// the current step and of Skew steps either side, but only of a step
// after lastUsed (the step returned by the last accepted Validate, or 0
// before any, as store.TOTPFactor.LastUsedStep starts), and returns the
// step it matched, which the caller stores as the new last used step.
//
// A code that matches no accepted step is ErrInvalidCode; one that
// matches only a step at or before lastUsed is ErrReplayed. The code is
// parsed with ParseCode and compared in constant time.
func Validate(secret []byte, code string, now time.Time, lastUsed int64) (int64, error) {
	code, err := ParseCode(code)
	if err != nil {
		return 0, err
	}
	current := Step(now)
	replayed := false
	for step := current - Skew; step <= current+Skew; step++ {
		ok, err := hotp.ValidateCustom(code, uint64(step), b32.EncodeToString(secret), opts)
		if err != nil {
			return 0, fmt.Errorf("totp: validate: %w", err)
		}
		if !ok {
			continue
		}
		if step <= lastUsed {
			replayed = true
			continue
		}
		return step, nil
	}
	if replayed {
		return 0, ErrReplayed
	}
	return 0, ErrInvalidCode
}

// ParseCode returns code in canonical form: exactly Digits ASCII digits,
// after removing the spaces and one hyphen that apps and users put in the
// middle ("123 456", "123-456"). Anything else is ErrInvalidCode.
func ParseCode(code string) (string, error) {
	if len(code) > 16 {
		return "", ErrInvalidCode
	}
	out := make([]byte, 0, Digits)
	hyphens := 0
	for i := 0; i < len(code); i++ {
		switch c := code[i]; {
		case c >= '0' && c <= '9':
			out = append(out, c)
		case c == ' ':
		case c == '-' && hyphens == 0:
			hyphens++
		default:
			return "", ErrInvalidCode
		}
	}
	if len(out) != Digits {
		return "", ErrInvalidCode
	}
	return string(out), nil
}
