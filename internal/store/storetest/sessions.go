package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// RunSessionStoreTests runs the SessionStore conformance suite. newStore
// must return a fresh, empty store on every call and register its own
// cleanup with t.Cleanup.
func RunSessionStoreTests(t *testing.T, newStore func(t *testing.T) store.SessionStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.SessionStore)
	}{
		{"CreateThenGet", testCreateGetSession},
		{"CreateTokenGrant", testCreateTokenSession},
		{"FirstPartyGrantHasNoAuthTime", testFirstPartyGrantNoAuthTime},
		{"GetNotFound", testGetSessionNotFound},
		{"GetBySecretHash", testGetSessionBySecretHash},
		{"GetBySecretHashNotFound", testGetSessionBySecretHashNotFound},
		{"CreateDuplicateID", testCreateSessionDuplicateID},
		{"CreateDuplicateSecretHash", testCreateSessionDuplicateHash},
		{"EmptySecretHashNeverConflicts", testSessionEmptyHashNoConflict},
		{"NilDataStoredAsEmptyObject", testSessionNilData},
		{"DataRoundTripsAsJSON", testSessionDataJSON},
		{"DataEdgeCasesRoundTrip", testSessionDataEdgeCases},
		{"DataInvalidRefused", testSessionDataInvalidRefused},
		{"TimestampsMillisecondUTC", testSessionTimestamps},
		{"ListOldestFirst", testListUserSessions},
		{"ListNone", testListUserSessionsNone},
		{"Touch", testTouchSession},
		{"TouchGrant", testTouchGrant},
		{"TouchNotFound", testTouchSessionNotFound},
		{"UpdateAuth", testUpdateSessionAuth},
		{"UpdateAuthNotFound", testUpdateSessionAuthNotFound},
		{"UpdateData", testUpdateSessionData},
		{"UpdateDataNilStoredAsEmptyObject", testUpdateSessionDataNil},
		{"UpdateDataClosureErrorWritesNothing", testUpdateSessionDataClosureError},
		{"UpdateDataNotFound", testUpdateSessionDataNotFound},
		{"UpdateDataConcurrentLosesNoUpdate", testUpdateSessionDataConcurrent},
		{"Delete", testDeleteSession},
		{"DeleteNotFound", testDeleteSessionNotFound},
		{"DeleteFreesSecretHash", testDeleteSessionFreesHash},
		{"DeleteUserSessions", testDeleteUserSessions},
		{"DeleteUserSessionsExcept", testDeleteUserSessionsExcept},
		{"DeleteUserSessionsNone", testDeleteUserSessionsNone},
		{"DeleteClientSessions", testDeleteClientSessions},
		{"DeleteSessionsByID", testDeleteSessionsByID},
		{"DeleteClientSessionsNone", testDeleteClientSessionsNone},
		{"DeleteClientSessionsEmptyIDRemovesNothing", testDeleteClientSessionsEmptyID},
		{"DeleteExpired", testDeleteExpiredSessions},
		{"Count", testCountSessions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// Session lifetimes used by newSession, relative to CreatedAt.
const (
	testIdleTimeout = 30 * time.Minute
	testLifetime    = 24 * time.Hour
)

// newCookieSession returns a cookie session of userID, created at
// createdAt, with a random id and secret hash and every field set.
func newCookieSession(t *testing.T, userID string, createdAt time.Time) store.Session {
	t.Helper()
	return store.Session{
		ID:            randomID(t, "s-"),
		SecretHash:    randomHash(t),
		Kind:          store.KindCookie,
		UserID:        userID,
		CreatedAt:     createdAt,
		LastSeenAt:    createdAt.Add(time.Minute),
		IdleExpiresAt: createdAt.Add(time.Minute + testIdleTimeout),
		ExpiresAt:     createdAt.Add(testLifetime),
		UserAgent:     "Mozilla/5.0 (X11; Linux x86_64) storetest",
		IP:            "2001:db8::1",
		Data:          json.RawMessage(`{"cart":["a","b"]}`),
		AuthTime:      createdAt,
		AuthMethods:   []string{"pwd"},
	}
}

// newTokenSession returns a token grant of userID, created at createdAt,
// with a random id and no secret hash: a grant of the authorization code
// flow, whose user authenticated in a browser session an hour earlier.
func newTokenSession(t *testing.T, userID string, createdAt time.Time) store.Session {
	t.Helper()
	s := newCookieSession(t, userID, createdAt)
	s.SecretHash = nil
	s.Kind = store.KindToken
	s.ClientID = randomID(t, "client-")
	s.Scope = "openid profile email offline_access"
	s.Audience = []string{"https://api.example.com", "urn:example:billing"}
	s.IP = "192.0.2.7"
	s.AuthTime = createdAt.Add(-time.Hour + 123*time.Millisecond)
	s.AuthSessionID = randomID(t, "s-")
	s.AuthMethods = []string{"pwd", "otp"}
	return s
}

// mustCreateSession creates s and fails the test on error.
func mustCreateSession(t *testing.T, st store.SessionStore, s store.Session) {
	t.Helper()
	noErr(t, "CreateSession", st.CreateSession(t.Context(), s))
}

// mustGetSession returns the record with the given id and fails the test on
// error.
func mustGetSession(t *testing.T, st store.SessionStore, id string) store.Session {
	t.Helper()
	s, err := st.GetSession(t.Context(), id)
	noErr(t, "GetSession", err)
	return s
}

// wantGone fails the test unless the record with the given id is
// ErrNotFound.
func wantGone(t *testing.T, st store.SessionStore, id string) {
	t.Helper()
	_, err := st.GetSession(t.Context(), id)
	wantErr(t, "GetSession of a removed record", err, store.ErrNotFound)
}

// checkSessions reports a mismatch unless got holds the records of want in
// the same order.
func checkSessions(t *testing.T, got, want []store.Session) {
	t.Helper()
	if len(got) != len(want) {
		ids := make([]string, len(got))
		for i, s := range got {
			ids[i] = s.ID
		}
		t.Fatalf("got %d records %v, want %d", len(got), ids, len(want))
	}
	for i := range want {
		t.Run(fmt.Sprintf("record%d", i), func(t *testing.T) {
			checkSession(t, got[i], want[i])
		})
	}
}

func testCreateGetSession(t *testing.T, st store.SessionStore) {
	s := newCookieSession(t, randomID(t, "u-"), baseTime())
	mustCreateSession(t, st, s)
	checkSession(t, mustGetSession(t, st, s.ID), s)
}

func testCreateTokenSession(t *testing.T, st store.SessionStore) {
	s := newTokenSession(t, randomID(t, "u-"), baseTime())
	mustCreateSession(t, st, s)
	got := mustGetSession(t, st, s.ID)
	checkSession(t, got, s)
	if len(got.SecretHash) != 0 {
		t.Errorf("SecretHash = %x, want empty for a token grant", got.SecretHash)
	}
}

// testFirstPartyGrantNoAuthTime checks that a grant without an
// authentication time of its own (a first-party login) reads back with a
// zero AuthTime, not the epoch.
func testFirstPartyGrantNoAuthTime(t *testing.T, st store.SessionStore) {
	s := newTokenSession(t, randomID(t, "u-"), baseTime())
	s.ClientID, s.Scope, s.Audience = "", "", nil
	s.AuthTime, s.AuthSessionID, s.AuthMethods = time.Time{}, "", nil
	mustCreateSession(t, st, s)
	got := mustGetSession(t, st, s.ID)
	checkSession(t, got, s)
	if !got.AuthTime.IsZero() || got.AuthSessionID != "" {
		t.Errorf("AuthTime, AuthSessionID = %v, %q; want zero, empty", got.AuthTime, got.AuthSessionID)
	}
}

func testGetSessionNotFound(t *testing.T, st store.SessionStore) {
	_, err := st.GetSession(t.Context(), randomID(t, "s-"))
	wantErr(t, "GetSession of unknown id", err, store.ErrNotFound)
}

func testGetSessionBySecretHash(t *testing.T, st store.SessionStore) {
	user := randomID(t, "u-")
	s := newCookieSession(t, user, baseTime())
	other := newCookieSession(t, user, baseTime())
	mustCreateSession(t, st, s)
	mustCreateSession(t, st, other)
	got, err := st.GetSessionBySecretHash(t.Context(), s.SecretHash)
	noErr(t, "GetSessionBySecretHash", err)
	checkSession(t, got, s)
}

func testGetSessionBySecretHashNotFound(t *testing.T, st store.SessionStore) {
	user := randomID(t, "u-")
	mustCreateSession(t, st, newCookieSession(t, user, baseTime()))
	mustCreateSession(t, st, newTokenSession(t, user, baseTime()))
	_, err := st.GetSessionBySecretHash(t.Context(), randomHash(t))
	wantErr(t, "GetSessionBySecretHash of unknown hash", err, store.ErrNotFound)
	// Token grants have no hash; an empty hash must not find them.
	_, err = st.GetSessionBySecretHash(t.Context(), nil)
	wantErr(t, "GetSessionBySecretHash(nil)", err, store.ErrNotFound)
	_, err = st.GetSessionBySecretHash(t.Context(), []byte{})
	wantErr(t, "GetSessionBySecretHash(empty)", err, store.ErrNotFound)
}

func testCreateSessionDuplicateID(t *testing.T, st store.SessionStore) {
	s := newCookieSession(t, randomID(t, "u-"), baseTime())
	mustCreateSession(t, st, s)
	dup := newCookieSession(t, randomID(t, "u-"), baseTime())
	dup.ID = s.ID
	wantErr(t, "CreateSession with a taken id", st.CreateSession(t.Context(), dup), store.ErrConflict)

	checkSession(t, mustGetSession(t, st, s.ID), s)
	_, err := st.GetSessionBySecretHash(t.Context(), dup.SecretHash)
	wantErr(t, "GetSessionBySecretHash of the rejected record", err, store.ErrNotFound)
}

func testCreateSessionDuplicateHash(t *testing.T, st store.SessionStore) {
	s := newCookieSession(t, randomID(t, "u-"), baseTime())
	mustCreateSession(t, st, s)
	dup := newCookieSession(t, randomID(t, "u-"), baseTime())
	dup.SecretHash = s.SecretHash
	wantErr(t, "CreateSession with a taken secret hash", st.CreateSession(t.Context(), dup), store.ErrConflict)

	wantGone(t, st, dup.ID)
	got, err := st.GetSessionBySecretHash(t.Context(), s.SecretHash)
	noErr(t, "GetSessionBySecretHash", err)
	checkSession(t, got, s)
}

func testSessionEmptyHashNoConflict(t *testing.T, st store.SessionStore) {
	user := randomID(t, "u-")
	var ss []store.Session
	for i, hash := range [][]byte{nil, nil, {}, {}} {
		s := newTokenSession(t, user, baseTime().Add(time.Duration(i)*time.Second))
		s.SecretHash = hash
		mustCreateSession(t, st, s)
		ss = append(ss, s)
	}
	for _, s := range ss {
		checkSession(t, mustGetSession(t, st, s.ID), s)
	}
}

func testSessionNilData(t *testing.T, st store.SessionStore) {
	s := newCookieSession(t, randomID(t, "u-"), baseTime())
	s.Data = nil
	mustCreateSession(t, st, s)
	got := mustGetSession(t, st, s.ID)
	if got.Data == nil {
		t.Fatal("Data = nil, want {}")
	}
	v, ok := jsonValue(t, "Data", got.Data).(map[string]any)
	if !ok || len(v) != 0 {
		t.Errorf("Data = %s, want {}", got.Data)
	}
	if got.DataVersion != 0 {
		t.Errorf("DataVersion = %d, want 0", got.DataVersion)
	}
}

func testSessionDataJSON(t *testing.T, st store.SessionStore) {
	s := newCookieSession(t, randomID(t, "u-"), baseTime())
	s.Data = json.RawMessage(` {
		"cart": {"items": [{"sku": "x-1", "qty": 2}, {"sku": "ü\u00e9\"", "qty": 1.25}]},
		"flow": null, "done": false, "n": -12345678901, "empty": {}, "list": []
	} `)
	mustCreateSession(t, st, s)
	checkSession(t, mustGetSession(t, st, s.ID), s)
}

func testSessionTimestamps(t *testing.T, st store.SessionStore) {
	zone := time.FixedZone("UTC-3", -3*3600)
	s := newCookieSession(t, randomID(t, "u-"), time.Date(2099, time.May, 6, 7, 8, 9, 987654321, zone))
	s.LastSeenAt = s.CreatedAt.Add(1500 * time.Microsecond)
	s.IdleExpiresAt = s.CreatedAt.Add(time.Hour + 999999*time.Nanosecond)
	s.ExpiresAt = s.CreatedAt.Add(48*time.Hour + 1)
	mustCreateSession(t, st, s)
	checkSession(t, mustGetSession(t, st, s.ID), s)
}

func testListUserSessions(t *testing.T, st store.SessionStore) {
	user := randomID(t, "u-")
	oldest := newTokenSession(t, user, baseTime())
	middle := newCookieSession(t, user, baseTime().Add(time.Minute))
	newest := newCookieSession(t, user, baseTime().Add(2*time.Minute))
	// Created out of order, and interleaved with another user's record.
	mustCreateSession(t, st, newest)
	mustCreateSession(t, st, newCookieSession(t, randomID(t, "u-"), baseTime().Add(-time.Hour)))
	mustCreateSession(t, st, oldest)
	mustCreateSession(t, st, middle)

	got, err := st.ListUserSessions(t.Context(), user)
	noErr(t, "ListUserSessions", err)
	checkSessions(t, got, []store.Session{oldest, middle, newest})
}

func testListUserSessionsNone(t *testing.T, st store.SessionStore) {
	mustCreateSession(t, st, newCookieSession(t, randomID(t, "u-"), baseTime()))
	got, err := st.ListUserSessions(t.Context(), randomID(t, "u-"))
	noErr(t, "ListUserSessions", err)
	if len(got) != 0 {
		t.Errorf("ListUserSessions of a user with no records returned %d", len(got))
	}
}

func testTouchSession(t *testing.T, st store.SessionStore) {
	s := newCookieSession(t, randomID(t, "u-"), baseTime())
	other := newCookieSession(t, s.UserID, baseTime())
	mustCreateSession(t, st, s)
	mustCreateSession(t, st, other)
	want := s
	want.LastSeenAt = baseTime().Add(10 * time.Minute)
	want.IdleExpiresAt = want.LastSeenAt.Add(testIdleTimeout)
	noErr(t, "TouchSession", st.TouchSession(t.Context(), s.ID, want.LastSeenAt, want.IdleExpiresAt))
	checkSession(t, mustGetSession(t, st, s.ID), want)
	checkSession(t, mustGetSession(t, st, other.ID), other)
}

// testTouchGrant touches a grant, as a refresh does: every other field,
// AuthTime and AuthSessionID included, stays as it was.
func testTouchGrant(t *testing.T, st store.SessionStore) {
	s := newTokenSession(t, randomID(t, "u-"), baseTime())
	mustCreateSession(t, st, s)
	want := s
	want.LastSeenAt = baseTime().Add(10 * time.Minute)
	want.IdleExpiresAt = want.LastSeenAt.Add(testIdleTimeout)
	noErr(t, "TouchSession", st.TouchSession(t.Context(), s.ID, want.LastSeenAt, want.IdleExpiresAt))
	checkSession(t, mustGetSession(t, st, s.ID), want)
}

func testTouchSessionNotFound(t *testing.T, st store.SessionStore) {
	err := st.TouchSession(t.Context(), randomID(t, "s-"), baseTime(), baseTime().Add(testIdleTimeout))
	wantErr(t, "TouchSession of unknown id", err, store.ErrNotFound)
}

func testUpdateSessionData(t *testing.T, st store.SessionStore) {
	s := newCookieSession(t, randomID(t, "u-"), baseTime())
	s.Data = json.RawMessage(`{"step":1}`)
	mustCreateSession(t, st, s)

	want := s
	for i := 1; i <= 3; i++ {
		next := json.RawMessage(fmt.Sprintf(`{"step":%d,"history":[%d]}`, i+1, i))
		got, err := st.UpdateSessionData(t.Context(), s.ID, func(data json.RawMessage, version int64) (json.RawMessage, error) {
			check := want
			check.Data, check.DataVersion = data, version
			checkSession(t, check, want)
			return next, nil
		})
		noErr(t, "UpdateSessionData", err)
		want.Data = next
		want.DataVersion = int64(i)
		checkSession(t, got, want)
		checkSession(t, mustGetSession(t, st, s.ID), want)
	}
}

func testUpdateSessionDataNil(t *testing.T, st store.SessionStore) {
	s := newCookieSession(t, randomID(t, "u-"), baseTime())
	mustCreateSession(t, st, s)
	got, err := st.UpdateSessionData(t.Context(), s.ID, func(json.RawMessage, int64) (json.RawMessage, error) {
		return nil, nil
	})
	noErr(t, "UpdateSessionData", err)
	want := s
	want.Data = json.RawMessage("{}")
	want.DataVersion = 1
	checkSession(t, got, want)
	checkSession(t, mustGetSession(t, st, s.ID), want)
}

func testUpdateSessionDataClosureError(t *testing.T, st store.SessionStore) {
	s := newCookieSession(t, randomID(t, "u-"), baseTime())
	mustCreateSession(t, st, s)
	_, err := st.UpdateSessionData(t.Context(), s.ID, func(json.RawMessage, int64) (json.RawMessage, error) {
		return json.RawMessage(`{"written":true}`), errUpdate
	})
	wantErr(t, "UpdateSessionData with a failing update", err, errUpdate)
	checkSession(t, mustGetSession(t, st, s.ID), s)
}

func testUpdateSessionDataNotFound(t *testing.T, st store.SessionStore) {
	called := false
	_, err := st.UpdateSessionData(t.Context(), randomID(t, "s-"), func(data json.RawMessage, _ int64) (json.RawMessage, error) {
		called = true
		return data, nil
	})
	wantErr(t, "UpdateSessionData of unknown id", err, store.ErrNotFound)
	if called {
		t.Error("UpdateSessionData called update for a record that does not exist")
	}
}

// testUpdateSessionDataConcurrent increments a counter in the data from
// many goroutines at once; a non-atomic read-modify-write loses increments.
func testUpdateSessionDataConcurrent(t *testing.T, st store.SessionStore) {
	const workers, increments = 8, 20
	s := newCookieSession(t, randomID(t, "u-"), baseTime())
	s.Data = json.RawMessage(`{"n":0}`)
	mustCreateSession(t, st, s)

	increment := func(data json.RawMessage, _ int64) (json.RawMessage, error) {
		var v struct {
			N int `json:"n"`
		}
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		v.N++
		return json.Marshal(v)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range increments {
				if _, err := st.UpdateSessionData(t.Context(), s.ID, increment); err != nil {
					t.Errorf("UpdateSessionData: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()

	want := s
	want.Data = json.RawMessage(fmt.Sprintf(`{"n":%d}`, workers*increments))
	want.DataVersion = workers * increments
	checkSession(t, mustGetSession(t, st, s.ID), want)
}

func testDeleteSession(t *testing.T, st store.SessionStore) {
	s := newCookieSession(t, randomID(t, "u-"), baseTime())
	other := newCookieSession(t, s.UserID, baseTime())
	mustCreateSession(t, st, s)
	mustCreateSession(t, st, other)
	noErr(t, "DeleteSession", st.DeleteSession(t.Context(), s.ID))
	wantGone(t, st, s.ID)
	_, err := st.GetSessionBySecretHash(t.Context(), s.SecretHash)
	wantErr(t, "GetSessionBySecretHash after DeleteSession", err, store.ErrNotFound)
	wantErr(t, "second DeleteSession", st.DeleteSession(t.Context(), s.ID), store.ErrNotFound)
	checkSession(t, mustGetSession(t, st, other.ID), other)
}

func testDeleteSessionNotFound(t *testing.T, st store.SessionStore) {
	wantErr(t, "DeleteSession of unknown id", st.DeleteSession(t.Context(), randomID(t, "s-")), store.ErrNotFound)
}

func testDeleteSessionFreesHash(t *testing.T, st store.SessionStore) {
	s := newCookieSession(t, randomID(t, "u-"), baseTime())
	mustCreateSession(t, st, s)
	noErr(t, "DeleteSession", st.DeleteSession(t.Context(), s.ID))
	again := newCookieSession(t, s.UserID, baseTime())
	again.SecretHash = s.SecretHash
	mustCreateSession(t, st, again)
}

// userSessions creates a token grant and two cookie sessions of a new user,
// oldest first, and returns them.
func userSessions(t *testing.T, st store.SessionStore) []store.Session {
	t.Helper()
	user := randomID(t, "u-")
	ss := []store.Session{
		newTokenSession(t, user, baseTime()),
		newCookieSession(t, user, baseTime().Add(time.Minute)),
		newCookieSession(t, user, baseTime().Add(2*time.Minute)),
	}
	for _, i := range []int{2, 0, 1} {
		mustCreateSession(t, st, ss[i])
	}
	return ss
}

func testDeleteUserSessions(t *testing.T, st store.SessionStore) {
	mine := userSessions(t, st)
	theirs := userSessions(t, st)
	removed, err := st.DeleteUserSessions(t.Context(), mine[0].UserID, "")
	noErr(t, "DeleteUserSessions", err)
	checkSessions(t, removed, mine)

	left, err := st.ListUserSessions(t.Context(), mine[0].UserID)
	noErr(t, "ListUserSessions", err)
	if len(left) != 0 {
		t.Errorf("%d records left after DeleteUserSessions", len(left))
	}
	for _, s := range mine {
		wantGone(t, st, s.ID)
	}
	others, err := st.ListUserSessions(t.Context(), theirs[0].UserID)
	noErr(t, "ListUserSessions of another user", err)
	checkSessions(t, others, theirs)
}

func testDeleteUserSessionsExcept(t *testing.T, st store.SessionStore) {
	mine := userSessions(t, st)
	theirs := userSessions(t, st)
	removed, err := st.DeleteUserSessions(t.Context(), mine[0].UserID, mine[1].ID)
	noErr(t, "DeleteUserSessions", err)
	checkSessions(t, removed, []store.Session{mine[0], mine[2]})

	left, err := st.ListUserSessions(t.Context(), mine[0].UserID)
	noErr(t, "ListUserSessions", err)
	checkSessions(t, left, mine[1:2])

	// exceptID names another user's record: it protects nothing of ours
	// and removes nothing of theirs.
	removed, err = st.DeleteUserSessions(t.Context(), mine[0].UserID, theirs[0].ID)
	noErr(t, "DeleteUserSessions", err)
	checkSessions(t, removed, mine[1:2])
	others, err := st.ListUserSessions(t.Context(), theirs[0].UserID)
	noErr(t, "ListUserSessions of another user", err)
	checkSessions(t, others, theirs)
}

func testDeleteUserSessionsNone(t *testing.T, st store.SessionStore) {
	theirs := userSessions(t, st)
	removed, err := st.DeleteUserSessions(t.Context(), randomID(t, "u-"), "")
	noErr(t, "DeleteUserSessions of a user with no records", err)
	if len(removed) != 0 {
		t.Errorf("DeleteUserSessions of a user with no records returned %d", len(removed))
	}
	others, err := st.ListUserSessions(t.Context(), theirs[0].UserID)
	noErr(t, "ListUserSessions of another user", err)
	checkSessions(t, others, theirs)
}

// clientGrants creates, for one new client, two token grants of different
// users, oldest first, plus a first-party grant and another client's grant
// of the first user, and returns the client's grants and the others.
func clientGrants(t *testing.T, st store.SessionStore) (mine, others []store.Session) {
	t.Helper()
	client := randomID(t, "client-")
	alice, bob := randomID(t, "u-"), randomID(t, "u-")
	mine = []store.Session{
		newTokenSession(t, alice, baseTime()),
		newTokenSession(t, bob, baseTime().Add(time.Minute)),
	}
	for i := range mine {
		mine[i].ClientID = client
	}
	firstParty := newTokenSession(t, alice, baseTime())
	firstParty.ClientID, firstParty.Scope = "", ""
	others = []store.Session{
		firstParty,
		newTokenSession(t, alice, baseTime().Add(2*time.Minute)),
		newCookieSession(t, bob, baseTime()),
	}
	for _, s := range []store.Session{mine[1], others[0], mine[0], others[1], others[2]} {
		mustCreateSession(t, st, s)
	}
	return mine, others
}

func testDeleteClientSessions(t *testing.T, st store.SessionStore) {
	mine, others := clientGrants(t, st)
	listed, err := st.ListClientSessions(t.Context(), mine[0].ClientID)
	noErr(t, "ListClientSessions", err)
	checkSessions(t, listed, mine)
	removed, err := st.DeleteClientSessions(t.Context(), mine[0].ClientID)
	noErr(t, "DeleteClientSessions", err)
	checkSessions(t, removed, mine)
	for _, s := range mine {
		wantGone(t, st, s.ID)
	}
	for _, s := range others {
		checkSession(t, mustGetSession(t, st, s.ID), s)
	}
	if listed, err := st.ListClientSessions(t.Context(), mine[0].ClientID); err != nil || len(listed) != 0 {
		t.Errorf("ListClientSessions after DeleteClientSessions = %d records, %v; want none", len(listed), err)
	}
	removed, err = st.DeleteClientSessions(t.Context(), mine[0].ClientID)
	noErr(t, "second DeleteClientSessions", err)
	if len(removed) != 0 {
		t.Errorf("second DeleteClientSessions returned %d records, want none", len(removed))
	}
}

func testDeleteClientSessionsNone(t *testing.T, st store.SessionStore) {
	_, others := clientGrants(t, st)
	removed, err := st.DeleteClientSessions(t.Context(), randomID(t, "client-"))
	noErr(t, "DeleteClientSessions of a client with no records", err)
	if len(removed) != 0 {
		t.Errorf("DeleteClientSessions of a client with no records returned %d", len(removed))
	}
	for _, s := range others {
		checkSession(t, mustGetSession(t, st, s.ID), s)
	}
}

func testDeleteClientSessionsEmptyID(t *testing.T, st store.SessionStore) {
	mine, others := clientGrants(t, st)
	if listed, err := st.ListClientSessions(t.Context(), ""); err != nil || len(listed) != 0 {
		t.Errorf("ListClientSessions(\"\") = %d records, %v; want none", len(listed), err)
	}
	removed, err := st.DeleteClientSessions(t.Context(), "")
	noErr(t, "DeleteClientSessions with an empty id", err)
	if len(removed) != 0 {
		t.Errorf("DeleteClientSessions(\"\") removed %d records, want none (first-party records have no client)", len(removed))
	}
	for _, s := range append(mine, others...) {
		checkSession(t, mustGetSession(t, st, s.ID), s)
	}
}

// expiryCases creates records around now, which lies an hour after
// baseTime: two live, the rest expired by one timeout or the other. A
// timeout equal to now has passed (see Session.Expired).
func expiryCases(t *testing.T, st store.SessionStore, now time.Time) (live, expired []store.Session) {
	t.Helper()
	user := randomID(t, "u-")
	mk := func(idle, abs time.Time) store.Session {
		s := newCookieSession(t, user, baseTime())
		s.IdleExpiresAt, s.ExpiresAt = idle, abs
		return s
	}
	later := now.Add(time.Hour)
	live = []store.Session{
		mk(now.Add(time.Millisecond), later),
		mk(later, now.Add(time.Millisecond)),
	}
	expired = []store.Session{
		mk(now.Add(-time.Minute), later), // idle timeout passed
		mk(later, now.Add(-time.Minute)), // absolute timeout passed
		mk(now, later),                   // idle timeout is now
		mk(later, now),                   // absolute timeout is now
		mk(now.Add(-time.Millisecond), now.Add(-time.Millisecond)),
	}
	for _, s := range append(append([]store.Session{}, live...), expired...) {
		if s.Expired(now) != containsID(expired, s.ID) {
			t.Fatalf("bad test case: Expired(now) = %v for idle %v, absolute %v", s.Expired(now), s.IdleExpiresAt, s.ExpiresAt)
		}
		mustCreateSession(t, st, s)
	}
	return live, expired
}

// containsID reports whether ss holds a record with the given id.
func containsID(ss []store.Session, id string) bool {
	for _, s := range ss {
		if s.ID == id {
			return true
		}
	}
	return false
}

func testDeleteExpiredSessions(t *testing.T, st store.SessionStore) {
	now := baseTime().Add(time.Hour)
	// Sweep first so that only our records count, even in a shared database.
	_, err := st.DeleteExpiredSessions(t.Context(), now)
	noErr(t, "DeleteExpiredSessions", err)

	live, expired := expiryCases(t, st, now)
	n, err := st.DeleteExpiredSessions(t.Context(), now)
	noErr(t, "DeleteExpiredSessions", err)
	if n != len(expired) {
		t.Errorf("DeleteExpiredSessions removed %d, want %d", n, len(expired))
	}
	for _, s := range expired {
		wantGone(t, st, s.ID)
	}
	for _, s := range live {
		checkSession(t, mustGetSession(t, st, s.ID), s)
	}
	n, err = st.DeleteExpiredSessions(t.Context(), now)
	noErr(t, "second DeleteExpiredSessions", err)
	if n != 0 {
		t.Errorf("second DeleteExpiredSessions removed %d, want 0", n)
	}
}

func testCountSessions(t *testing.T, st store.SessionStore) {
	now := baseTime().Add(time.Hour)
	earlier := baseTime() // every record of expiryCases is live then
	count := func(at time.Time) int {
		t.Helper()
		n, err := st.CountSessions(t.Context(), at)
		noErr(t, "CountSessions", err)
		return n
	}
	beforeNow, beforeEarlier := count(now), count(earlier)
	live, expired := expiryCases(t, st, now)
	if got, want := count(now)-beforeNow, len(live); got != want {
		t.Errorf("CountSessions(now) grew by %d, want %d", got, want)
	}
	if got, want := count(earlier)-beforeEarlier, len(live)+len(expired); got != want {
		t.Errorf("CountSessions(earlier) grew by %d, want %d", got, want)
	}
	// Counting removes nothing.
	for _, s := range expired {
		checkSession(t, mustGetSession(t, st, s.ID), s)
	}
}

func testDeleteSessionsByID(t *testing.T, st store.SessionStore) {
	mine, others := clientGrants(t, st)
	ids := []string{randomID(t, "absent-")}
	for _, s := range mine {
		ids = append(ids, s.ID)
	}
	removed, err := st.DeleteSessions(t.Context(), ids)
	noErr(t, "DeleteSessions", err)
	slices.Sort(removed)
	want := slices.Sorted(slices.Values(ids[1:]))
	if !slices.Equal(removed, want) {
		t.Errorf("DeleteSessions removed %v, want %v", removed, want)
	}
	for _, s := range mine {
		wantGone(t, st, s.ID)
	}
	for _, s := range others {
		checkSession(t, mustGetSession(t, st, s.ID), s)
	}
	removed, err = st.DeleteSessions(t.Context(), ids)
	noErr(t, "second DeleteSessions", err)
	if len(removed) != 0 {
		t.Errorf("second DeleteSessions removed %v, want none", removed)
	}
	if removed, err := st.DeleteSessions(t.Context(), nil); err != nil || len(removed) != 0 {
		t.Errorf("DeleteSessions(nil) = %v, %v; want none", removed, err)
	}
}

// testUpdateSessionAuth checks that UpdateSessionAuth replaces the
// record's methods, time and enrolment flag, and nothing else, on a
// cookie session and on a grant, and can clear them.
func testUpdateSessionAuth(t *testing.T, st store.SessionStore) {
	user := randomID(t, "u-")
	for _, s := range []store.Session{newCookieSession(t, user, baseTime()), newTokenSession(t, user, baseTime())} {
		t.Run(string(s.Kind), func(t *testing.T) {
			s.EnrolmentOnly = true
			mustCreateSession(t, st, s)
			checkSession(t, mustGetSession(t, st, s.ID), s)
			want := s
			want.AuthMethods = []string{"pwd", "otp", "hwk"}
			want.AuthTime = baseTime().Add(5*time.Minute + 7*time.Millisecond)
			want.EnrolmentOnly = false
			noErr(t, "UpdateSessionAuth", st.UpdateSessionAuth(t.Context(), s.ID, want.AuthMethods, want.AuthTime, false))
			checkSession(t, mustGetSession(t, st, s.ID), want)
			if s.SecretHash != nil {
				got, err := st.GetSessionBySecretHash(t.Context(), s.SecretHash)
				noErr(t, "GetSessionBySecretHash", err)
				checkSession(t, got, want)
			}
			want.AuthMethods, want.AuthTime, want.EnrolmentOnly = nil, time.Time{}, true
			noErr(t, "UpdateSessionAuth to none", st.UpdateSessionAuth(t.Context(), s.ID, nil, time.Time{}, true))
			checkSession(t, mustGetSession(t, st, s.ID), want)
		})
	}
}

func testUpdateSessionAuthNotFound(t *testing.T, st store.SessionStore) {
	err := st.UpdateSessionAuth(t.Context(), randomID(t, "s-"), []string{"pwd"}, baseTime(), false)
	wantErr(t, "UpdateSessionAuth of unknown id", err, store.ErrNotFound)
}
