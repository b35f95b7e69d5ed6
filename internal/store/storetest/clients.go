package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// RunClientStoreTests runs the ClientStore conformance suite. newStore
// must return a fresh, empty store on every call and register its own
// cleanup with t.Cleanup.
func RunClientStoreTests(t *testing.T, newStore func(t *testing.T) store.ClientStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.ClientStore)
	}{
		{"CreateThenGet", testCreateGetClient},
		{"PublicClientWithoutSecret", testPublicClient},
		{"EmptyListsComeBackEmpty", testClientEmptyLists},
		{"SecretHashRoundTripsExactly", testClientSecretHashBytes},
		{"TimestampsMillisecondUTC", testClientTimestamps},
		{"GetNotFound", testGetClientNotFound},
		{"CreateDuplicateID", testCreateClientDuplicateID},
		{"ListOldestFirst", testListClients},
		{"Delete", testDeleteClient},
		{"DeleteNotFound", testDeleteClientNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// newClient returns a confidential client, created at createdAt, with a
// random id and secret hash and every field set.
func newClient(t *testing.T, createdAt time.Time) store.Client {
	t.Helper()
	return store.Client{
		ID:                               randomID(t, "client-"),
		SecretHash:                       randomHash(t),
		Name:                             "Storetest Reporting Service",
		GrantTypes:                       []string{"client_credentials", "authorization_code", "refresh_token"},
		RedirectURIs:                     []string{"https://app.example.com/callback", "http://127.0.0.1/cb", "com.example.app:/oauth2redirect"},
		Scopes:                           []string{"reports:read", "reports:write", "gatehouse:admin"},
		Audiences:                        []string{"https://api.example.com", "urn:example:billing"},
		TokenEndpointAuthMethod:          "client_secret_basic",
		FirstParty:                       true,
		PostLogoutRedirectURIs:           []string{"https://app.example.com/logged-out", "com.example.app:/logout"},
		IDTokenSignedResponseAlg:         "EdDSA",
		BackchannelLogoutURI:             "https://app.example.com/backchannel-logout",
		BackchannelLogoutSessionRequired: true,
		CreatedAt:                        createdAt,
	}
}

// mustCreateClient creates c and fails the test on error.
func mustCreateClient(t *testing.T, st store.ClientStore, c store.Client) {
	t.Helper()
	noErr(t, "CreateClient", st.CreateClient(t.Context(), c))
}

// mustGetClient returns the client with the given id and fails the test on
// error.
func mustGetClient(t *testing.T, st store.ClientStore, id string) store.Client {
	t.Helper()
	c, err := st.GetClient(t.Context(), id)
	noErr(t, "GetClient", err)
	return c
}

// checkStrings reports a mismatch unless got holds the strings of want in
// the same order; nil and empty are the same.
func checkStrings(t *testing.T, field string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", field, got, want)
	}
}

// checkClient reports every field of got that differs from want.
func checkClient(t *testing.T, got, want store.Client) {
	t.Helper()
	if got.ID != want.ID {
		t.Errorf("ID = %q, want %q", got.ID, want.ID)
	}
	if string(got.SecretHash) != string(want.SecretHash) {
		t.Errorf("SecretHash = %x, want %x", got.SecretHash, want.SecretHash)
	}
	if got.Name != want.Name {
		t.Errorf("Name = %q, want %q", got.Name, want.Name)
	}
	checkStrings(t, "GrantTypes", got.GrantTypes, want.GrantTypes)
	checkStrings(t, "RedirectURIs", got.RedirectURIs, want.RedirectURIs)
	checkStrings(t, "Scopes", got.Scopes, want.Scopes)
	checkStrings(t, "Audiences", got.Audiences, want.Audiences)
	if got.TokenEndpointAuthMethod != want.TokenEndpointAuthMethod {
		t.Errorf("TokenEndpointAuthMethod = %q, want %q", got.TokenEndpointAuthMethod, want.TokenEndpointAuthMethod)
	}
	if got.FirstParty != want.FirstParty {
		t.Errorf("FirstParty = %v, want %v", got.FirstParty, want.FirstParty)
	}
	checkStrings(t, "PostLogoutRedirectURIs", got.PostLogoutRedirectURIs, want.PostLogoutRedirectURIs)
	if got.IDTokenSignedResponseAlg != want.IDTokenSignedResponseAlg {
		t.Errorf("IDTokenSignedResponseAlg = %q, want %q", got.IDTokenSignedResponseAlg, want.IDTokenSignedResponseAlg)
	}
	if got.BackchannelLogoutURI != want.BackchannelLogoutURI || got.BackchannelLogoutSessionRequired != want.BackchannelLogoutSessionRequired {
		t.Errorf("back-channel logout = %q %v, want %q %v", got.BackchannelLogoutURI, got.BackchannelLogoutSessionRequired,
			want.BackchannelLogoutURI, want.BackchannelLogoutSessionRequired)
	}
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
}

func testCreateGetClient(t *testing.T, st store.ClientStore) {
	c := newClient(t, baseTime())
	mustCreateClient(t, st, c)
	checkClient(t, mustGetClient(t, st, c.ID), c)
}

func testPublicClient(t *testing.T, st store.ClientStore) {
	c := newClient(t, baseTime())
	c.SecretHash = nil
	c.TokenEndpointAuthMethod = "none"
	c.FirstParty = false
	c.GrantTypes = []string{"authorization_code", "refresh_token"}
	mustCreateClient(t, st, c)
	got := mustGetClient(t, st, c.ID)
	checkClient(t, got, c)
	if len(got.SecretHash) != 0 {
		t.Errorf("SecretHash of a public client = %x, want empty", got.SecretHash)
	}
}

func testClientEmptyLists(t *testing.T, st store.ClientStore) {
	c := newClient(t, baseTime())
	c.RedirectURIs, c.Scopes, c.Audiences, c.PostLogoutRedirectURIs = nil, []string{}, nil, nil
	c.IDTokenSignedResponseAlg = ""
	c.Name = ""
	c.GrantTypes = []string{"client_credentials"}
	mustCreateClient(t, st, c)
	checkClient(t, mustGetClient(t, st, c.ID), c)
}

func testClientSecretHashBytes(t *testing.T, st store.ClientStore) {
	c := newClient(t, baseTime())
	// A hash is binary: NULs and bytes that are not UTF-8 must survive.
	c.SecretHash = append([]byte{0x00, 0xff, 0x80, 0x00}, randomHash(t)[:28]...)
	mustCreateClient(t, st, c)
	checkClient(t, mustGetClient(t, st, c.ID), c)
}

func testClientTimestamps(t *testing.T, st store.ClientStore) {
	nonUTC := time.FixedZone("UTC+5:30", 5*3600+1800)
	c := newClient(t, baseTime().Add(123456789*time.Nanosecond).In(nonUTC))
	mustCreateClient(t, st, c)
	checkClient(t, mustGetClient(t, st, c.ID), c)
}

func testGetClientNotFound(t *testing.T, st store.ClientStore) {
	_, err := st.GetClient(t.Context(), randomID(t, "client-"))
	wantErr(t, "GetClient of unknown id", err, store.ErrNotFound)
	_, err = st.GetClient(t.Context(), "")
	wantErr(t, "GetClient of the empty id", err, store.ErrNotFound)
}

func testCreateClientDuplicateID(t *testing.T, st store.ClientStore) {
	c := newClient(t, baseTime())
	mustCreateClient(t, st, c)
	dup := newClient(t, baseTime().Add(time.Hour))
	dup.ID = c.ID
	wantErr(t, "CreateClient with a taken id", st.CreateClient(t.Context(), dup), store.ErrConflict)
	checkClient(t, mustGetClient(t, st, c.ID), c)
}

// testListClients looks only at its own clients, in case the store is
// shared with other tests.
func testListClients(t *testing.T, st store.ClientStore) {
	mine := []store.Client{
		newClient(t, baseTime()),
		newClient(t, baseTime().Add(time.Minute)),
		newClient(t, baseTime().Add(2*time.Minute)),
	}
	mine[1].TokenEndpointAuthMethod = "client_secret_post"
	for _, i := range []int{2, 0, 1} {
		mustCreateClient(t, st, mine[i])
	}
	all, err := st.ListClients(t.Context())
	noErr(t, "ListClients", err)
	if all == nil {
		t.Errorf("ListClients returned nil, want a slice")
	}
	var got []store.Client
	for _, c := range all {
		if slices.ContainsFunc(mine, func(m store.Client) bool { return m.ID == c.ID }) {
			got = append(got, c)
		}
	}
	if len(got) != len(mine) {
		t.Fatalf("ListClients returned %d of the %d clients created", len(got), len(mine))
	}
	for i := range mine {
		checkClient(t, got[i], mine[i])
	}
	for i := 1; i < len(all); i++ {
		if all[i].CreatedAt.Before(all[i-1].CreatedAt) {
			t.Errorf("ListClients is not oldest first: %v before %v", all[i-1].CreatedAt, all[i].CreatedAt)
		}
	}
}

func testDeleteClient(t *testing.T, st store.ClientStore) {
	c, other := newClient(t, baseTime()), newClient(t, baseTime())
	mustCreateClient(t, st, c)
	mustCreateClient(t, st, other)
	noErr(t, "DeleteClient", st.DeleteClient(t.Context(), c.ID))
	_, err := st.GetClient(t.Context(), c.ID)
	wantErr(t, "GetClient of a deleted client", err, store.ErrNotFound)
	wantErr(t, "second DeleteClient", st.DeleteClient(t.Context(), c.ID), store.ErrNotFound)
	all, err := st.ListClients(t.Context())
	noErr(t, "ListClients", err)
	if slices.ContainsFunc(all, func(x store.Client) bool { return x.ID == c.ID }) {
		t.Errorf("ListClients still lists the deleted client %s", c.ID)
	}
	checkClient(t, mustGetClient(t, st, other.ID), other)
}

func testDeleteClientNotFound(t *testing.T, st store.ClientStore) {
	wantErr(t, "DeleteClient of unknown id", st.DeleteClient(t.Context(), randomID(t, "client-")), store.ErrNotFound)
}
