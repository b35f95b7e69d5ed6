package oauth_test

import (
	"fmt"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/internal/oauth"
)

func ExampleMatchRedirectURI() {
	registered := []string{"https://app.example.com/callback", "http://127.0.0.1/callback"}
	for _, uri := range []string{
		"https://app.example.com/callback",
		"https://app.example.com/callback/",
		"http://127.0.0.1:53412/callback", // a native app's loopback port
		"http://localhost:53412/callback",
	} {
		fmt.Println(oauth.MatchRedirectURI(registered, uri), uri)
	}
	// Output:
	// true https://app.example.com/callback
	// false https://app.example.com/callback/
	// true http://127.0.0.1:53412/callback
	// false http://localhost:53412/callback
}

func ExampleParseCredentials() {
	// client_secret_post: the credentials are form parameters.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"c1"}, "client_secret": {"s3cret"}}
	cr, err := oauth.ParseCredentials("", form)
	fmt.Println(cr.Method, cr.ClientID, err)

	// Two methods at once is invalid_request (RFC 6749 section 2.3).
	_, err = oauth.ParseCredentials("Basic YzE6czNjcmV0", form)
	fmt.Println(err)
	// Output:
	// client_secret_post c1 <nil>
	// oauth: invalid_request: more than one client authentication method: use either the Authorization header or client_secret
}
