package sqlstore

import (
	"bytes"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// fixture is one record of every kind, as testdata/*-v6.sql holds them:
// the Gatehouse before internal/store/sqlstore (its internal/store/sqlite
// and internal/store/postgres packages) stored these through its own
// Store methods and dumped the database (see TestOpenTodaysDatabase).
type fixture struct {
	user                  store.User
	cookie, grant         store.Session
	current, retired      store.SigningKey
	rotated, successor    store.RefreshToken
	sealedSuccessor       []byte
	revocation            store.Revocation
	client                store.Client
	code                  store.AuthCode
	consent               store.Consent
	leaseName, leaseOwner string
	leaseUntil            time.Time
}

// fixtureRecords returns the records of the fixture.
func fixtureRecords() fixture {
	at := time.Date(2026, time.November, 28, 17, 48, 38, 970_000_000, time.UTC)
	h := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	return fixture{
		user: store.User{ID: "3d767426c4cc7acbcf7a0f107822c370", Email: "alice@example.com",
			PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2g",
			Claims:       map[string]any{"name": "Alice", "groups": []any{"a", "b"}, "n": 1.5},
			CreatedAt:    at, UpdatedAt: at.Add(time.Minute)},
		cookie: store.Session{ID: "s-cookie", SecretHash: h(1), Kind: store.SessionKind("cookie"),
			UserID: "3d767426c4cc7acbcf7a0f107822c370", Audience: []string{},
			CreatedAt: at, AuthTime: at, LastSeenAt: at.Add(time.Minute),
			IdleExpiresAt: at.Add(24 * time.Hour), ExpiresAt: at.Add(30 * 24 * time.Hour),
			UserAgent: "Mozilla/5.0", IP: "192.0.2.1", Data: []byte(`{"theme":"dark"}`), DataVersion: 3},
		grant: store.Session{ID: "g-token", Kind: store.SessionKind("token"),
			UserID: "3d767426c4cc7acbcf7a0f107822c370", ClientID: "c-fixture", Scope: "openid offline_access",
			Audience:  []string{"https://api.example.com", `b,c "d"`},
			CreatedAt: at, AuthTime: at.Add(-time.Second), AuthSessionID: "s-cookie", LastSeenAt: at,
			IdleExpiresAt: at.Add(24 * time.Hour), ExpiresAt: at.Add(30 * 24 * time.Hour), Data: []byte(`{}`)},
		current: store.SigningKey{ID: "k-current", Algorithm: "EdDSA", SealedPrivateKey: h(2),
			PublicJWK: []byte(`{"kty":"OKP","crv":"Ed25519","x":"AAAA"}`), CreatedAt: at},
		retired: store.SigningKey{ID: "k-retired", Algorithm: "EdDSA", SealedPrivateKey: h(3),
			PublicJWK: []byte(`{"kty":"OKP","crv":"Ed25519","x":"BBBB"}`), CreatedAt: at.Add(-time.Hour),
			RetiredAt: at, ExpiresAt: at.Add(time.Hour)},
		rotated:         store.RefreshToken{Hash: h(4), SessionID: "g-token", CreatedAt: at, ExpiresAt: at.Add(time.Hour)},
		successor:       store.RefreshToken{Hash: h(5), SessionID: "g-token", CreatedAt: at.Add(time.Minute), ExpiresAt: at.Add(2 * time.Hour)},
		sealedSuccessor: h(6),
		revocation:      store.Revocation{Seq: 1, SessionID: "s-gone", At: at, Expires: at.Add(time.Hour)},
		client: store.Client{ID: "c-fixture", SecretHash: h(7), Name: "Fixture app",
			GrantTypes:   []string{"authorization_code", "refresh_token"},
			RedirectURIs: []string{"https://app.example.com/cb?x=1,2", `https://app.example.com/"q"`},
			Scopes:       []string{"openid", "offline_access"}, Audiences: []string{},
			TokenEndpointAuthMethod: "client_secret_basic", FirstParty: true, CreatedAt: at,
			PostLogoutRedirectURIs: []string{"https://app.example.com/bye"}, IDTokenSignedResponseAlg: "EdDSA"},
		code: store.AuthCode{Hash: h(8), ClientID: "c-fixture", UserID: "3d767426c4cc7acbcf7a0f107822c370",
			SessionID: "s-cookie", RedirectURI: "https://app.example.com/cb?x=1,2", CodeChallenge: "abc",
			CodeChallengeMethod: "S256", Scope: "openid", Audience: []string{"https://api.example.com"},
			Nonce: "n-1", AuthTime: at, CreatedAt: at, ExpiresAt: at.Add(time.Minute)},
		consent: store.Consent{UserID: "3d767426c4cc7acbcf7a0f107822c370", ClientID: "c-fixture",
			Scopes: []string{"openid", "offline_access"}, CreatedAt: at, UpdatedAt: at},
		leaseName: "sweep", leaseOwner: "instance-1", leaseUntil: at.Add(time.Hour),
	}
}
