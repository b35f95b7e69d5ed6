package verifier

import (
	"errors"
	"testing"
)

func TestSessionCookieClientConfig(t *testing.T) {
	for name, sc := range map[string]SessionCookieConfig{
		"id without secret":           {ClientID: "id"},
		"secret without id":           {ClientSecret: "ghc_x"},
		"client and fixed credential": {ClientID: "id", ClientSecret: "ghc_x", IntrospectionCredential: "admin"},
	} {
		_, err := Config{Issuer: "https://id.example.com", Audience: "api", SessionCookie: sc}.withDefaults()
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	c, err := Config{Issuer: "https://id.example.com", Audience: "api", SessionCookie: SessionCookieConfig{ClientID: "id", ClientSecret: "ghc_x", IntrospectionURL: "https://id.example.com/oauth2/introspect"}}.withDefaults()
	if err != nil || !c.SessionCookie.enabled() || !c.discoveryNeeded() {
		t.Errorf("a client's credentials: enabled %v, discovery needed %v (token URL), err %v", c.SessionCookie.enabled(), c.discoveryNeeded(), err)
	}
}
