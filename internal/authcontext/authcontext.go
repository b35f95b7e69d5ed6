package authcontext

import (
	"slices"
	"time"
)

// Method is an authentication method reference: an RFC 8176 section 2
// value as it appears in the amr claim.
type Method string

// The methods Gatehouse records. MFA is never recorded: AMR adds it when
// the recorded methods are more than one factor.
const (
	// Password is a password check ("pwd").
	Password Method = "pwd"
	// OTP is a one-time password: a TOTP code or a recovery code ("otp").
	OTP Method = "otp"
	// HardwareKey is proof of possession of a device-bound key: a passkey
	// that is not backup eligible ("hwk").
	HardwareKey Method = "hwk"
	// SoftwareKey is proof of possession of a key that can leave the
	// device: a synced (backup-eligible) passkey ("swk").
	SoftwareKey Method = "swk"
	// UserVerified is the authenticator's own check of the user (a PIN or
	// a biometric; WebAuthn's UV flag). RFC 8176 has no value for "a PIN
	// or a biometric, not told which", so it is recorded as "user", its
	// closest value; it counts as a second factor only together with a
	// key (HardwareKey or SoftwareKey).
	UserVerified Method = "user"
	// MFA is "multiple-factor authentication" ("mfa"), derived by AMR.
	MFA Method = "mfa"
)

// The acr values Gatehouse defines (see the package documentation).
const (
	// ACROneFactor is a single-factor authentication.
	ACROneFactor = "urn:gatehouse:acr:1fa"
	// ACRMultiFactor is an authentication with two factors of different
	// kinds.
	ACRMultiFactor = "urn:gatehouse:acr:mfa"
)

// ACRValuesSupported returns the acr values Gatehouse defines, weakest
// first, for the discovery document's acr_values_supported.
func ACRValuesSupported() []string {
	return []string{ACROneFactor, ACRMultiFactor}
}

// DefaultStepUpWindow is how recent an authentication must be for a
// sensitive action (changing the email or password, removing a factor,
// adding a passkey, deleting the account) when no other window is
// configured.
const DefaultStepUpWindow = 10 * time.Minute

// factor is the kind of proof a method gives (NIST SP 800-63B section
// 5.1: something you know, have, are).
type factor int

const (
	noFactor factor = iota
	knowledge
	possession
	inherenceOrKnowledge
)

func (m Method) factor() factor {
	switch m {
	case Password:
		return knowledge
	case OTP, HardwareKey, SoftwareKey:
		return possession
	case UserVerified:
		return inherenceOrKnowledge
	}
	return noFactor
}

// Authentication is how and when a user proved who they are: what a
// session or grant records, and what amr, acr and auth_time come from.
// The zero value is "not authenticated".
type Authentication struct {
	// Methods are the methods used, in the order they happened, each once.
	// MFA is not stored here; AMR derives it. The slice may be shared
	// with other Authentications (ParseAMR returns one list per single
	// method): read it, append to a copy (With), never write into it.
	Methods []Method
	// Time is when the last method succeeded: the OIDC auth_time.
	Time time.Time
}

// New returns the authentication of methods completed at t.
func New(t time.Time, methods ...Method) Authentication {
	var a Authentication
	return a.With(t, methods...)
}

// With returns a copy of a extended by methods completed at t (a second
// factor after a password, or a step-up): the methods are added once each
// (MFA is dropped), and Time moves to t. a is not changed.
func (a Authentication) With(t time.Time, methods ...Method) Authentication {
	out := Authentication{Methods: slices.Clone(a.Methods), Time: t}
	for _, m := range methods {
		if m != MFA && !slices.Contains(out.Methods, m) {
			out.Methods = append(out.Methods, m)
		}
	}
	return out
}

// Has reports whether m was used. Has(MFA) is MultiFactor.
func (a Authentication) Has(m Method) bool {
	if m == MFA {
		return a.MultiFactor()
	}
	return slices.Contains(a.Methods, m)
}

// MultiFactor reports whether the methods include two different kinds of
// factor: a password and something possessed (TOTP, recovery code,
// passkey), or a passkey with user verification.
func (a Authentication) MultiFactor() bool {
	var possessed, other bool
	for _, m := range a.Methods {
		switch m.factor() {
		case possession:
			possessed = true
		case knowledge, inherenceOrKnowledge:
			other = true
		}
	}
	return possessed && other
}

// AMR returns the amr claim: the methods in order, then "mfa" if they are
// more than one factor (pwd + otp gives ["pwd", "otp", "mfa"]). It is nil
// for the zero Authentication. The list may be shared: do not write into
// it.
func (a Authentication) AMR() []string {
	if len(a.Methods) == 0 {
		return nil
	}
	if len(a.Methods) == 1 {
		// One method is never more than one factor; the shared list saves
		// an allocation per cookie check and per token (issue #18).
		if l, ok := singleOf(a.Methods[0]); ok {
			return l.amr
		}
	}
	out := make([]string, 0, len(a.Methods)+1)
	for _, m := range a.Methods {
		out = append(out, string(m))
	}
	if a.MultiFactor() {
		out = append(out, string(MFA))
	}
	return out
}

// ACR returns the acr claim: ACRMultiFactor or ACROneFactor, or "" for
// the zero Authentication.
func (a Authentication) ACR() string {
	switch {
	case len(a.Methods) == 0:
		return ""
	case a.MultiFactor():
		return ACRMultiFactor
	default:
		return ACROneFactor
	}
}

// Satisfies reports whether a meets one of the requested acr values (an
// OIDC acr_values list, in order of preference), and returns the first one
// it meets. Values Gatehouse does not define are skipped; a request with
// none it defines is met by any authentication, answered with a.ACR(). A
// request for ACRMultiFactor that a does not meet is (“”, false): the
// caller asks for the missing factor.
func (a Authentication) Satisfies(requested []string) (string, bool) {
	if len(a.Methods) == 0 {
		return "", false
	}
	known := false
	for _, r := range requested {
		switch r {
		case ACROneFactor:
			return r, true
		case ACRMultiFactor:
			known = true
			if a.MultiFactor() {
				return r, true
			}
		}
	}
	if known {
		return "", false
	}
	return a.ACR(), true
}

// Recent reports whether a happened within window before now: what a
// sensitive action requires (step-up). A window of 0 means
// DefaultStepUpWindow. A time in the future (clock skew between
// instances) counts as recent only up to a minute ahead.
func (a Authentication) Recent(now time.Time, window time.Duration) bool {
	if len(a.Methods) == 0 || a.Time.IsZero() {
		return false
	}
	if window <= 0 {
		window = DefaultStepUpWindow
	}
	age := now.Sub(a.Time)
	return age < window && age > -time.Minute
}

// MaxAgeExceeded reports whether a is older than the OIDC max_age
// (seconds) at now, so that the user must authenticate again. maxAge < 0
// means no max_age was given; max_age=0 always requires a new
// authentication (OIDC Core section 3.1.2.1 treats it like prompt=login).
func (a Authentication) MaxAgeExceeded(now time.Time, maxAge int64) bool {
	if maxAge < 0 {
		return false
	}
	if a.Time.IsZero() {
		return true
	}
	return now.Sub(a.Time) >= time.Duration(maxAge)*time.Second
}

// ParseAMR returns the Authentication whose AMR is amr at t, for reading a
// stored or received amr claim back. Values Gatehouse does not record,
// and "mfa" (which AMR derives), are dropped, so a tampered list cannot
// claim MFA without the factors behind it.
func ParseAMR(amr []string, t time.Time) Authentication {
	// No allocation for one method, one otherwise: this runs on every
	// cookie check (session.AuthOf) and every bearer token.
	if len(amr) == 1 {
		if l, ok := singleOf(Method(amr[0])); ok {
			return Authentication{Methods: l.methods, Time: t}
		}
	}
	ms := make([]Method, 0, len(amr))
	for _, s := range amr {
		if m := Method(s); slices.Contains(recordedMethods[:], m) && !slices.Contains(ms, m) {
			ms = append(ms, m)
		}
	}
	if len(ms) == 0 {
		ms = nil
	}
	return Authentication{Methods: ms, Time: t}
}

// recordedMethods are the methods Gatehouse records (ParseAMR keeps only
// these).
var recordedMethods = [...]Method{Password, OTP, HardwareKey, SoftwareKey, UserVerified}

// knownValues are the amr and acr values Gatehouse writes: the recorded
// methods, "mfa", and the acr values.
var knownValues = func() []string {
	var out []string
	for _, m := range recordedMethods {
		out = append(out, string(m))
	}
	return append(out, string(MFA), ACROneFactor, ACRMultiFactor)
}()

// KnownValue returns the amr or acr value Gatehouse writes that v spells,
// as the shared constant string, without allocating: decoding a token's
// claims with it keeps the common values off the heap (issue #18).
func KnownValue(v []byte) (string, bool) {
	for _, k := range knownValues {
		if string(v) == k {
			return k, true
		}
	}
	return "", false
}

// single holds the shared lists of the authentications of one method
// (the common case: a password, or a passkey alone), for ParseAMR and
// AMR. Each list has len == cap, so an append copies; nothing writes into
// them (see Authentication.Methods, and the AMR doc).
var single = func() []singleLists {
	var out []singleLists
	for _, m := range recordedMethods {
		out = append(out, singleLists{methods: []Method{m}, amr: []string{string(m)}})
	}
	return out
}()

type singleLists struct {
	methods []Method
	amr     []string
}

// singleOf returns the shared lists of method m, if it is one Gatehouse
// records.
func singleOf(m Method) (singleLists, bool) {
	for _, l := range single {
		if l.methods[0] == m {
			return l, true
		}
	}
	return singleLists{}, false
}
