package storetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// baseTime returns the fixed "now" of the suites. It lies in the future so
// that backends with wall-clock expiry keep the records for the test's
// duration.
func baseTime() time.Time {
	return time.Date(2099, time.January, 2, 3, 4, 5, 0, time.UTC)
}

// errUpdate is the error the suites' update closures return to check that it
// comes back unchanged and that nothing is written.
var errUpdate = errors.New("storetest: update refused")

// randomID returns prefix followed by 32 random hex digits.
func randomID(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("crypto/rand: %v", err)
	}
	return prefix + hex.EncodeToString(b)
}

// randomHash returns 32 random bytes, the size of a SHA-256 digest.
func randomHash(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("crypto/rand: %v", err)
	}
	return b
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want errors.Is(err, %v)", what, err, target)
	}
}

// noErr fails the test if err is not nil.
func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// checkTime reports a mismatch unless got is in UTC and within a
// millisecond of want.
func checkTime(t *testing.T, field string, got, want time.Time) {
	t.Helper()
	if got.Location() != time.UTC {
		t.Errorf("%s: location %v, want UTC", field, got.Location())
	}
	if d := got.Sub(want); d <= -time.Millisecond || d >= time.Millisecond {
		t.Errorf("%s = %v, want %v (within 1ms)", field, got, want)
	}
}

// checkOptionalTime is checkTime for a time that is zero until an event
// (a key's retirement, a token's rotation): a zero want requires a zero
// got.
func checkOptionalTime(t *testing.T, field string, got, want time.Time) {
	t.Helper()
	if want.IsZero() {
		if !got.IsZero() {
			t.Errorf("%s = %v, want zero", field, got)
		}
		return
	}
	checkTime(t, field, got, want)
}

// checkBytes reports a mismatch unless got holds exactly the bytes of want;
// nil and empty are the same.
func checkBytes(t *testing.T, field string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s = %x, want %x", field, got, want)
	}
}

// jsonValue decodes raw into a generic value, failing the test if it is not
// valid JSON.
func jsonValue(t *testing.T, what string, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: not valid JSON %q: %v", what, raw, err)
	}
	return v
}

// viaJSON returns v as it comes back from a JSON round trip.
func viaJSON(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	if v == nil {
		return map[string]any{}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal claims: %v", err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("unmarshal claims: %v", err)
	}
	return out
}

// checkUser reports every field of got that differs from want. Claims are
// compared after a JSON round trip of want.
func checkUser(t *testing.T, got, want store.User) {
	t.Helper()
	if got.ID != want.ID {
		t.Errorf("ID = %q, want %q", got.ID, want.ID)
	}
	if got.Email != want.Email {
		t.Errorf("Email = %q, want %q", got.Email, want.Email)
	}
	if got.PasswordHash != want.PasswordHash {
		t.Errorf("PasswordHash = %q, want %q", got.PasswordHash, want.PasswordHash)
	}
	if got.Claims == nil {
		t.Errorf("Claims = nil, want a non-nil map")
	}
	if w := viaJSON(t, want.Claims); !reflect.DeepEqual(got.Claims, w) {
		t.Errorf("Claims = %#v, want %#v", got.Claims, w)
	}
	if got.Disabled != want.Disabled {
		t.Errorf("Disabled = %v, want %v", got.Disabled, want.Disabled)
	}
	if got.EmailVerified != want.EmailVerified {
		t.Errorf("EmailVerified = %v, want %v", got.EmailVerified, want.EmailVerified)
	}
	if got.MFARequired != want.MFARequired {
		t.Errorf("MFARequired = %v, want %v", got.MFARequired, want.MFARequired)
	}
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

// checkSession reports every field of got that differs from want. Data is
// compared as decoded JSON; a nil want.Data means "{}".
func checkSession(t *testing.T, got, want store.Session) {
	t.Helper()
	if got.ID != want.ID {
		t.Errorf("ID = %q, want %q", got.ID, want.ID)
	}
	if string(got.SecretHash) != string(want.SecretHash) {
		t.Errorf("SecretHash = %x, want %x", got.SecretHash, want.SecretHash)
	}
	if got.Kind != want.Kind {
		t.Errorf("Kind = %q, want %q", got.Kind, want.Kind)
	}
	if got.UserID != want.UserID {
		t.Errorf("UserID = %q, want %q", got.UserID, want.UserID)
	}
	if got.ClientID != want.ClientID {
		t.Errorf("ClientID = %q, want %q", got.ClientID, want.ClientID)
	}
	if got.Scope != want.Scope {
		t.Errorf("Scope = %q, want %q", got.Scope, want.Scope)
	}
	checkStrings(t, "Audience", got.Audience, want.Audience)
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "LastSeenAt", got.LastSeenAt, want.LastSeenAt)
	checkTime(t, "IdleExpiresAt", got.IdleExpiresAt, want.IdleExpiresAt)
	checkTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	checkOptionalTime(t, "AuthTime", got.AuthTime, want.AuthTime)
	if got.AuthSessionID != want.AuthSessionID {
		t.Errorf("AuthSessionID = %q, want %q", got.AuthSessionID, want.AuthSessionID)
	}
	checkStrings(t, "AuthMethods", got.AuthMethods, want.AuthMethods)
	if got.EnrolmentOnly != want.EnrolmentOnly {
		t.Errorf("EnrolmentOnly = %v, want %v", got.EnrolmentOnly, want.EnrolmentOnly)
	}
	if got.UserAgent != want.UserAgent {
		t.Errorf("UserAgent = %q, want %q", got.UserAgent, want.UserAgent)
	}
	if got.IP != want.IP {
		t.Errorf("IP = %q, want %q", got.IP, want.IP)
	}
	if got.Data == nil {
		t.Errorf("Data = nil, want a JSON value")
	}
	wantData := want.Data
	if wantData == nil {
		wantData = json.RawMessage("{}")
	}
	if g, w := jsonValue(t, "got Data", got.Data), jsonValue(t, "want Data", wantData); !reflect.DeepEqual(g, w) {
		t.Errorf("Data = %s, want %s", got.Data, wantData)
	}
	if got.DataVersion != want.DataVersion {
		t.Errorf("DataVersion = %d, want %d", got.DataVersion, want.DataVersion)
	}
}

// checkKey reports every field of got that differs from want.
func checkKey(t *testing.T, got, want store.SigningKey) {
	t.Helper()
	if got.ID != want.ID {
		t.Errorf("ID = %q, want %q", got.ID, want.ID)
	}
	if got.Algorithm != want.Algorithm {
		t.Errorf("Algorithm = %q, want %q", got.Algorithm, want.Algorithm)
	}
	checkBytes(t, "SealedPrivateKey", got.SealedPrivateKey, want.SealedPrivateKey)
	checkBytes(t, "PublicJWK", got.PublicJWK, want.PublicJWK)
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkOptionalTime(t, "RetiredAt", got.RetiredAt, want.RetiredAt)
	checkOptionalTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

// checkRefreshToken reports every field of got that differs from want.
func checkRefreshToken(t *testing.T, got, want store.RefreshToken) {
	t.Helper()
	checkBytes(t, "Hash", got.Hash, want.Hash)
	if got.SessionID != want.SessionID {
		t.Errorf("SessionID = %q, want %q", got.SessionID, want.SessionID)
	}
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	checkOptionalTime(t, "RotatedAt", got.RotatedAt, want.RotatedAt)
	checkBytes(t, "SealedSuccessor", got.SealedSuccessor, want.SealedSuccessor)
}

// checkRevocation reports every field of got that differs from want.
func checkRevocation(t *testing.T, got, want store.Revocation) {
	t.Helper()
	if got.Seq != want.Seq {
		t.Errorf("Seq = %d, want %d", got.Seq, want.Seq)
	}
	if got.SessionID != want.SessionID {
		t.Errorf("SessionID = %q, want %q", got.SessionID, want.SessionID)
	}
	if got.UserID != want.UserID {
		t.Errorf("UserID = %q, want %q", got.UserID, want.UserID)
	}
	if got.TokenID != want.TokenID {
		t.Errorf("TokenID = %q, want %q", got.TokenID, want.TokenID)
	}
	checkTime(t, "At", got.At, want.At)
	checkTime(t, "Expires", got.Expires, want.Expires)
}
