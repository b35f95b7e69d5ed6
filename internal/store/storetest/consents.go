package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// RunConsentStoreTests runs the ConsentStore conformance suite. newStore
// must return a fresh, empty store on every call and register its own
// cleanup with t.Cleanup.
func RunConsentStoreTests(t *testing.T, newStore func(t *testing.T) store.ConsentStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.ConsentStore)
	}{
		{"PutThenGet", testPutGetConsent},
		{"PutReplacesKeepingCreatedAt", testPutConsentReplaces},
		{"GetNotFound", testGetConsentNotFound},
		{"ListOldestFirst", testListUserConsents},
		{"ListNone", testListUserConsentsNone},
		{"Delete", testDeleteConsent},
		{"DeleteNotFound", testDeleteConsentNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

func newConsent(t *testing.T, userID string, at time.Time) store.Consent {
	t.Helper()
	return store.Consent{
		UserID: userID, ClientID: randomID(t, "client-"),
		Scopes:    []string{"openid", "profile", "reports:read"},
		CreatedAt: at, UpdatedAt: at,
	}
}

func checkConsent(t *testing.T, got, want store.Consent) {
	t.Helper()
	if got.UserID != want.UserID || got.ClientID != want.ClientID {
		t.Errorf("consent of (%q, %q), want (%q, %q)", got.UserID, got.ClientID, want.UserID, want.ClientID)
	}
	checkStrings(t, "Scopes", got.Scopes, want.Scopes)
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func mustGetConsent(t *testing.T, st store.ConsentStore, userID, clientID string) store.Consent {
	t.Helper()
	c, err := st.GetConsent(t.Context(), userID, clientID)
	noErr(t, "GetConsent", err)
	return c
}

func testPutGetConsent(t *testing.T, st store.ConsentStore) {
	c := newConsent(t, randomID(t, "u-"), baseTime())
	noErr(t, "PutConsent", st.PutConsent(t.Context(), c))
	checkConsent(t, mustGetConsent(t, st, c.UserID, c.ClientID), c)
}

func testPutConsentReplaces(t *testing.T, st store.ConsentStore) {
	c := newConsent(t, randomID(t, "u-"), baseTime())
	noErr(t, "PutConsent", st.PutConsent(t.Context(), c))
	next := c
	next.Scopes = []string{"email"}
	next.CreatedAt = baseTime().Add(time.Hour)
	next.UpdatedAt = baseTime().Add(time.Hour)
	noErr(t, "PutConsent again", st.PutConsent(t.Context(), next))
	want := next
	want.CreatedAt = c.CreatedAt
	checkConsent(t, mustGetConsent(t, st, c.UserID, c.ClientID), want)
}

func testGetConsentNotFound(t *testing.T, st store.ConsentStore) {
	c := newConsent(t, randomID(t, "u-"), baseTime())
	noErr(t, "PutConsent", st.PutConsent(t.Context(), c))
	_, err := st.GetConsent(t.Context(), c.UserID, randomID(t, "client-"))
	wantErr(t, "GetConsent of another client", err, store.ErrNotFound)
	_, err = st.GetConsent(t.Context(), randomID(t, "u-"), c.ClientID)
	wantErr(t, "GetConsent of another user", err, store.ErrNotFound)
}

func testListUserConsents(t *testing.T, st store.ConsentStore) {
	user := randomID(t, "u-")
	second := newConsent(t, user, baseTime().Add(time.Minute))
	first := newConsent(t, user, baseTime())
	first.Scopes = nil
	other := newConsent(t, randomID(t, "u-"), baseTime())
	for _, c := range []store.Consent{second, first, other} {
		noErr(t, "PutConsent", st.PutConsent(t.Context(), c))
	}
	got, err := st.ListUserConsents(t.Context(), user)
	noErr(t, "ListUserConsents", err)
	if len(got) != 2 {
		t.Fatalf("ListUserConsents returned %d consents, want 2", len(got))
	}
	checkConsent(t, got[0], first)
	checkConsent(t, got[1], second)
}

func testListUserConsentsNone(t *testing.T, st store.ConsentStore) {
	got, err := st.ListUserConsents(t.Context(), randomID(t, "u-"))
	noErr(t, "ListUserConsents", err)
	if got == nil || len(got) != 0 {
		t.Errorf("ListUserConsents of a user without consents = %#v, want an empty slice", got)
	}
}

func testDeleteConsent(t *testing.T, st store.ConsentStore) {
	c := newConsent(t, randomID(t, "u-"), baseTime())
	kept := newConsent(t, c.UserID, baseTime())
	noErr(t, "PutConsent", st.PutConsent(t.Context(), c))
	noErr(t, "PutConsent", st.PutConsent(t.Context(), kept))
	noErr(t, "DeleteConsent", st.DeleteConsent(t.Context(), c.UserID, c.ClientID))
	_, err := st.GetConsent(t.Context(), c.UserID, c.ClientID)
	wantErr(t, "GetConsent after DeleteConsent", err, store.ErrNotFound)
	checkConsent(t, mustGetConsent(t, st, kept.UserID, kept.ClientID), kept)
}

func testDeleteConsentNotFound(t *testing.T, st store.ConsentStore) {
	err := st.DeleteConsent(t.Context(), randomID(t, "u-"), randomID(t, "client-"))
	wantErr(t, "DeleteConsent of an unknown consent", err, store.ErrNotFound)
}
