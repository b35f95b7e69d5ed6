package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// RunUserStoreTests runs the UserStore conformance suite. newStore must
// return a fresh, empty store on every call and register its own cleanup
// with t.Cleanup.
func RunUserStoreTests(t *testing.T, newStore func(t *testing.T) store.UserStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.UserStore)
	}{
		{"CreateThenGet", testCreateGetUser},
		{"GetByEmail", testGetUserByEmail},
		{"GetNotFound", testGetUserNotFound},
		{"GetByEmailNotFound", testGetUserByEmailNotFound},
		{"EmailComparedExactly", testUserEmailExact},
		{"CreateDuplicateID", testCreateUserDuplicateID},
		{"CreateDuplicateEmail", testCreateUserDuplicateEmail},
		{"NilClaimsReadBackEmpty", testUserNilClaims},
		{"ClaimsRoundTripAsJSON", testUserClaimsJSON},
		{"TimestampsMillisecondUTC", testUserTimestamps},
		{"Update", testUpdateUser},
		{"UpdateSeesCurrentUser", testUpdateUserSeesCurrent},
		{"UpdateNotFound", testUpdateUserNotFound},
		{"UpdateClosureErrorWritesNothing", testUpdateUserClosureError},
		{"UpdateEmailTaken", testUpdateUserEmailTaken},
		{"UpdateEmailFreesOld", testUpdateUserEmailFreesOld},
		{"UpdateCannotChangeID", testUpdateUserID},
		{"Delete", testDeleteUser},
		{"DeleteNotFound", testDeleteUserNotFound},
		{"DeleteFreesEmail", testDeleteUserFreesEmail},
		{"ListPages", testListUsers},
		{"Ping", testPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// newUser returns a user with random id and email and every field set.
func newUser(t *testing.T) store.User {
	t.Helper()
	id := randomID(t, "u-")
	return store.User{
		ID:            id,
		Email:         id + "@example.test",
		PasswordHash:  "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		Claims:        map[string]any{"role": "admin"},
		EmailVerified: true,
		MFARequired:   true,
		CreatedAt:     baseTime(),
		UpdatedAt:     baseTime().Add(time.Minute),
	}
}

// mustCreateUser creates u and fails the test on error.
func mustCreateUser(t *testing.T, s store.UserStore, u store.User) {
	t.Helper()
	noErr(t, "CreateUser", s.CreateUser(t.Context(), u))
}

// mustGetUser returns the user with the given id and fails the test on
// error.
func mustGetUser(t *testing.T, s store.UserStore, id string) store.User {
	t.Helper()
	u, err := s.GetUser(t.Context(), id)
	noErr(t, "GetUser", err)
	return u
}

func testCreateGetUser(t *testing.T, s store.UserStore) {
	u := newUser(t)
	u.Disabled = true
	mustCreateUser(t, s, u)
	checkUser(t, mustGetUser(t, s, u.ID), u)

	// A second user does not disturb the first.
	v := newUser(t)
	mustCreateUser(t, s, v)
	checkUser(t, mustGetUser(t, s, v.ID), v)
	checkUser(t, mustGetUser(t, s, u.ID), u)
}

func testGetUserByEmail(t *testing.T, s store.UserStore) {
	u, v := newUser(t), newUser(t)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, v)
	got, err := s.GetUserByEmail(t.Context(), v.Email)
	noErr(t, "GetUserByEmail", err)
	checkUser(t, got, v)
}

func testGetUserNotFound(t *testing.T, s store.UserStore) {
	_, err := s.GetUser(t.Context(), randomID(t, "u-"))
	wantErr(t, "GetUser of unknown id", err, store.ErrNotFound)
}

func testGetUserByEmailNotFound(t *testing.T, s store.UserStore) {
	mustCreateUser(t, s, newUser(t))
	_, err := s.GetUserByEmail(t.Context(), randomID(t, "nobody-")+"@example.test")
	wantErr(t, "GetUserByEmail of unknown email", err, store.ErrNotFound)
}

// testUserEmailExact checks that emails are compared exactly as given:
// addresses differing only in case are different users.
func testUserEmailExact(t *testing.T, s store.UserStore) {
	lower := newUser(t)
	upper := newUser(t)
	upper.Email = "X" + lower.Email
	lower.Email = "x" + lower.Email
	mustCreateUser(t, s, lower)
	mustCreateUser(t, s, upper)

	got, err := s.GetUserByEmail(t.Context(), upper.Email)
	noErr(t, "GetUserByEmail", err)
	if got.ID != upper.ID {
		t.Errorf("GetUserByEmail(%q) returned user %q, want %q", upper.Email, got.ID, upper.ID)
	}
	got, err = s.GetUserByEmail(t.Context(), lower.Email)
	noErr(t, "GetUserByEmail", err)
	if got.ID != lower.ID {
		t.Errorf("GetUserByEmail(%q) returned user %q, want %q", lower.Email, got.ID, lower.ID)
	}
}

func testCreateUserDuplicateID(t *testing.T, s store.UserStore) {
	u := newUser(t)
	mustCreateUser(t, s, u)
	dup := newUser(t)
	dup.ID = u.ID
	wantErr(t, "CreateUser with a taken id", s.CreateUser(t.Context(), dup), store.ErrConflict)

	// The original is untouched and the rejected email was not stored.
	checkUser(t, mustGetUser(t, s, u.ID), u)
	_, err := s.GetUserByEmail(t.Context(), dup.Email)
	wantErr(t, "GetUserByEmail of the rejected user", err, store.ErrNotFound)
}

func testCreateUserDuplicateEmail(t *testing.T, s store.UserStore) {
	u := newUser(t)
	mustCreateUser(t, s, u)
	dup := newUser(t)
	dup.Email = u.Email
	wantErr(t, "CreateUser with a taken email", s.CreateUser(t.Context(), dup), store.ErrConflict)

	_, err := s.GetUser(t.Context(), dup.ID)
	wantErr(t, "GetUser of the rejected user", err, store.ErrNotFound)
	got, err := s.GetUserByEmail(t.Context(), u.Email)
	noErr(t, "GetUserByEmail", err)
	checkUser(t, got, u)
}

func testUserNilClaims(t *testing.T, s store.UserStore) {
	u := newUser(t)
	u.Claims = nil
	mustCreateUser(t, s, u)
	got := mustGetUser(t, s, u.ID)
	if got.Claims == nil || len(got.Claims) != 0 {
		t.Errorf("Claims = %#v, want a non-nil empty map", got.Claims)
	}
}

// testUserClaimsJSON pins how claims come back: as encoding/json decodes
// them, with every number a float64.
func testUserClaimsJSON(t *testing.T, s store.UserStore) {
	u := newUser(t)
	u.Claims = map[string]any{
		"str":    "välue \"quoted\" <tag>",
		"int":    42,
		"float":  1.5,
		"neg":    int64(-7),
		"bool":   true,
		"null":   nil,
		"list":   []any{"a", 1, false, map[string]any{"k": "v"}},
		"nested": map[string]any{"groups": []string{"ops", "dev"}, "level": map[string]any{"n": 3}},
		"empty":  map[string]any{},
	}
	want := map[string]any{
		"str":   "välue \"quoted\" <tag>",
		"int":   float64(42),
		"float": 1.5,
		"neg":   float64(-7),
		"bool":  true,
		"null":  nil,
		"list":  []any{"a", float64(1), false, map[string]any{"k": "v"}},
		"nested": map[string]any{
			"groups": []any{"ops", "dev"},
			"level":  map[string]any{"n": float64(3)},
		},
		"empty": map[string]any{},
	}
	mustCreateUser(t, s, u)
	got := mustGetUser(t, s, u.ID)
	if !reflect.DeepEqual(got.Claims, want) {
		t.Errorf("Claims = %#v, want %#v", got.Claims, want)
	}
}

func testUserTimestamps(t *testing.T, s store.UserStore) {
	u := newUser(t)
	// Sub-millisecond digits and a non-UTC zone: the store must return UTC
	// within a millisecond.
	zone := time.FixedZone("UTC+5:30", 5*3600+30*60)
	u.CreatedAt = time.Date(2099, time.March, 4, 5, 6, 7, 123456789, zone)
	u.UpdatedAt = time.Date(2099, time.March, 4, 5, 6, 8, 999999999, zone)
	mustCreateUser(t, s, u)
	got := mustGetUser(t, s, u.ID)
	checkTime(t, "CreatedAt", got.CreatedAt, u.CreatedAt)
	checkTime(t, "UpdatedAt", got.UpdatedAt, u.UpdatedAt)
}

func testUpdateUser(t *testing.T, s store.UserStore) {
	u := newUser(t)
	mustCreateUser(t, s, u)
	want := u
	want.Email = randomID(t, "new-") + "@example.test"
	want.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdA$bmV3aGFzaA"
	want.Claims = map[string]any{"role": "viewer", "tenants": []any{"a", "b"}}
	want.Disabled = true
	want.EmailVerified = false
	want.MFARequired = false
	want.UpdatedAt = baseTime().Add(time.Hour)

	got, err := s.UpdateUser(t.Context(), u.ID, func(store.User) (store.User, error) {
		return want, nil
	})
	noErr(t, "UpdateUser", err)
	checkUser(t, got, want)
	checkUser(t, mustGetUser(t, s, u.ID), want)
	byEmail, err := s.GetUserByEmail(t.Context(), want.Email)
	noErr(t, "GetUserByEmail of the new email", err)
	checkUser(t, byEmail, want)
}

func testUpdateUserSeesCurrent(t *testing.T, s store.UserStore) {
	u := newUser(t)
	u.Claims = map[string]any{"n": 1}
	mustCreateUser(t, s, u)
	want := u
	for range 3 {
		got, err := s.UpdateUser(t.Context(), u.ID, func(old store.User) (store.User, error) {
			checkUser(t, old, want)
			n, _ := old.Claims["n"].(float64)
			old.Claims = map[string]any{"n": n + 1}
			return old, nil
		})
		noErr(t, "UpdateUser", err)
		want = got
	}
	if got := mustGetUser(t, s, u.ID).Claims["n"]; got != float64(4) {
		t.Errorf(`Claims["n"] = %v after three increments of 1, want 4`, got)
	}
}

func testUpdateUserNotFound(t *testing.T, s store.UserStore) {
	called := false
	_, err := s.UpdateUser(t.Context(), randomID(t, "u-"), func(u store.User) (store.User, error) {
		called = true
		return u, nil
	})
	wantErr(t, "UpdateUser of unknown id", err, store.ErrNotFound)
	if called {
		t.Error("UpdateUser called update for a user that does not exist")
	}
}

func testUpdateUserClosureError(t *testing.T, s store.UserStore) {
	u := newUser(t)
	mustCreateUser(t, s, u)
	_, err := s.UpdateUser(t.Context(), u.ID, func(old store.User) (store.User, error) {
		old.Email = randomID(t, "new-") + "@example.test"
		old.Disabled = true
		return old, errUpdate
	})
	wantErr(t, "UpdateUser with a failing update", err, errUpdate)
	checkUser(t, mustGetUser(t, s, u.ID), u)
}

func testUpdateUserEmailTaken(t *testing.T, s store.UserStore) {
	u, v := newUser(t), newUser(t)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, v)
	_, err := s.UpdateUser(t.Context(), v.ID, func(old store.User) (store.User, error) {
		old.Email = u.Email
		old.Disabled = true
		return old, nil
	})
	wantErr(t, "UpdateUser to a taken email", err, store.ErrConflict)
	checkUser(t, mustGetUser(t, s, u.ID), u)
	checkUser(t, mustGetUser(t, s, v.ID), v)
}

func testUpdateUserEmailFreesOld(t *testing.T, s store.UserStore) {
	u := newUser(t)
	mustCreateUser(t, s, u)
	oldEmail := u.Email
	_, err := s.UpdateUser(t.Context(), u.ID, func(old store.User) (store.User, error) {
		old.Email = randomID(t, "new-") + "@example.test"
		return old, nil
	})
	noErr(t, "UpdateUser", err)
	_, err = s.GetUserByEmail(t.Context(), oldEmail)
	wantErr(t, "GetUserByEmail of the old email", err, store.ErrNotFound)

	// The old address can now be taken by someone else.
	v := newUser(t)
	v.Email = oldEmail
	mustCreateUser(t, s, v)
}

// testUpdateUserID checks that an ID changed by update is ignored.
func testUpdateUserID(t *testing.T, s store.UserStore) {
	u := newUser(t)
	mustCreateUser(t, s, u)
	otherID := randomID(t, "u-")
	got, err := s.UpdateUser(t.Context(), u.ID, func(old store.User) (store.User, error) {
		old.ID = otherID
		old.Disabled = true
		return old, nil
	})
	noErr(t, "UpdateUser", err)
	if got.ID != u.ID {
		t.Errorf("UpdateUser returned ID %q, want the unchanged %q", got.ID, u.ID)
	}
	want := u
	want.Disabled = true
	checkUser(t, mustGetUser(t, s, u.ID), want)
	_, err = s.GetUser(t.Context(), otherID)
	wantErr(t, "GetUser of the id update tried to set", err, store.ErrNotFound)
}

func testDeleteUser(t *testing.T, s store.UserStore) {
	u, v := newUser(t), newUser(t)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, v)
	noErr(t, "DeleteUser", s.DeleteUser(t.Context(), u.ID))
	_, err := s.GetUser(t.Context(), u.ID)
	wantErr(t, "GetUser after DeleteUser", err, store.ErrNotFound)
	_, err = s.GetUserByEmail(t.Context(), u.Email)
	wantErr(t, "GetUserByEmail after DeleteUser", err, store.ErrNotFound)
	wantErr(t, "second DeleteUser", s.DeleteUser(t.Context(), u.ID), store.ErrNotFound)
	checkUser(t, mustGetUser(t, s, v.ID), v)
}

func testDeleteUserNotFound(t *testing.T, s store.UserStore) {
	wantErr(t, "DeleteUser of unknown id", s.DeleteUser(t.Context(), randomID(t, "u-")), store.ErrNotFound)
}

func testDeleteUserFreesEmail(t *testing.T, s store.UserStore) {
	u := newUser(t)
	mustCreateUser(t, s, u)
	noErr(t, "DeleteUser", s.DeleteUser(t.Context(), u.ID))
	v := newUser(t)
	v.Email = u.Email
	mustCreateUser(t, s, v)
	got, err := s.GetUserByEmail(t.Context(), u.Email)
	noErr(t, "GetUserByEmail", err)
	checkUser(t, got, v)
}

func testPing(t *testing.T, s store.UserStore) {
	noErr(t, "Ping", s.Ping(t.Context()))
}

// testListUsers pages through users in id order, a page at a time.
func testListUsers(t *testing.T, s store.UserStore) {
	ctx := t.Context()
	if got, err := s.ListUsers(ctx, "", 10); err != nil || len(got) != 0 {
		t.Fatalf("ListUsers on an empty store = %v, %v; want none", got, err)
	}
	var ids []string
	for range 5 {
		u := newUser(t)
		mustCreateUser(t, s, u)
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	var seen []string
	after := ""
	for page := 0; ; page++ {
		got, err := s.ListUsers(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > 2 {
			t.Fatalf("page %d has %d users, want at most 2", page, len(got))
		}
		if len(got) == 0 {
			break
		}
		for _, u := range got {
			seen = append(seen, u.ID)
		}
		after = got[len(got)-1].ID
		if page > 5 {
			t.Fatal("listing does not end")
		}
	}
	if !slices.Equal(seen, ids) {
		t.Fatalf("pages = %v, want %v", seen, ids)
	}
	full, err := s.ListUsers(ctx, "", 100)
	if err != nil || len(full) != 5 {
		t.Fatalf("ListUsers(100) = %d users, %v; want 5", len(full), err)
	}
	want := mustGetUser(t, s, full[0].ID)
	if !reflect.DeepEqual(full[0], want) {
		t.Errorf("listed user = %+v, want %+v as GetUser reads it", full[0], want)
	}
	if got, err := s.ListUsers(ctx, ids[4], 10); err != nil || len(got) != 0 {
		t.Errorf("ListUsers after the last id = %v, %v; want none", got, err)
	}
}
