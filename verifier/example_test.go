package verifier_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/verifier"
)

// A resource server protects its routes with the middleware: requests
// with a valid Gatehouse access token (or, when enabled, session cookie)
// reach the handler with a Principal; the others get 401 with an RFC 6750
// challenge.
func Example_middleware() {
	v, err := verifier.New(context.Background(), verifier.Config{
		Issuer:   "https://auth.example.com",
		Audience: "https://api.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /hello", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := verifier.FromContext(r.Context())
		fmt.Fprintf(w, "hello, %s (via %s)\n", p.Subject, p.Method)
	})))
	// Routes that need more than the verifier's RequiredScopes.
	mux.Handle("DELETE /things/{id}", v.Middleware(v.RequireScope("things:write")(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))))
	log.Fatal(http.ListenAndServe("127.0.0.1:9090", mux))
}

// Verify checks a token without HTTP, for a gRPC interceptor or a queue
// consumer. errors.As reads an expiry.
func ExampleVerifier_Verify() {
	v, err := verifier.New(context.Background(), verifier.Config{
		Issuer:      "https://auth.example.com",
		Audience:    "https://api.example.com",
		Revocations: verifier.RevocationConfig{Mode: verifier.RevocationPoll, PollInterval: 2 * time.Second},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	p, err := v.Verify(context.Background(), "eyJhbGciOiJFZERTQSIs...")
	var expired *verifier.ExpiredError
	switch {
	case errors.As(err, &expired):
		log.Printf("token expired at %s: refresh it", expired.Expiry)
	case errors.Is(err, verifier.ErrRevoked):
		log.Print("token revoked: log in again")
	case err != nil:
		log.Print(err)
	default:
		log.Printf("user %s, scopes %v", p.Subject, p.Scopes())
	}
}

// Handlers read the Principal from the request context. In tests of
// handlers, NewContext puts one there without a token.
func ExampleFromContext() {
	hello := func(w http.ResponseWriter, r *http.Request) {
		p, ok := verifier.FromContext(r.Context())
		if !ok {
			http.Error(w, "no principal", http.StatusUnauthorized)
			return
		}
		fmt.Printf("%s via %s, admin: %v\n", p.Subject, p.Method, p.HasScope("admin"))
	}
	r, _ := http.NewRequest("GET", "/hello", nil)
	p := verifier.NewPrincipal(verifier.Principal{Method: verifier.MethodJWT, Subject: "user-42"}, []string{"read", "admin"}, nil)
	hello(nil, r.WithContext(verifier.NewContext(r.Context(), p)))
	// Output: user-42 via jwt, admin: true
}

// Browsers on the issuer's host can use their Gatehouse session cookie
// instead of a token: the verifier introspects it, with a short cache.
func ExampleSessionCookieConfig() {
	v, err := verifier.New(context.Background(), verifier.Config{
		Issuer:   "https://auth.example.com",
		Audience: "https://auth.example.com/api",
		SessionCookie: verifier.SessionCookieConfig{
			// A resource-server client: registered with scope
			// gatehouse:introspect, it may introspect and nothing more.
			ClientID:     "0a44e5060d6f6471d070563357afe526",
			ClientSecret: "ghc_...",
			CacheTTL:     5 * time.Second,
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	_ = v.Middleware(http.NotFoundHandler())
}

// Watch ties a live connection to its credential: here a Server-Sent
// Events stream that ends, with a last event saying why, when the
// session is revoked or the token expires. A WebSocket server does the
// same with a close code (see examples/realtime).
func ExampleVerifier_Watch() {
	v, err := verifier.New(context.Background(), verifier.Config{
		Issuer:   "https://auth.example.com",
		Audience: "https://api.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	http.Handle("GET /events", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := verifier.FromContext(r.Context())
		live, stop := v.Watch(r.Context(), p)
		defer stop()
		w.Header().Set("Content-Type", "text/event-stream")
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-live.Done():
				reason := "closed"
				switch cause := context.Cause(live); {
				case errors.Is(cause, verifier.ErrExpired):
					reason = "token expired" // the client refreshes and reconnects
				case errors.Is(cause, verifier.ErrRevoked), errors.Is(cause, verifier.ErrSessionInactive):
					reason = "signed out" // the client must log in again
				}
				fmt.Fprintf(w, "event: end\ndata: %s\n\n", reason)
				return
			case t := <-tick.C:
				fmt.Fprintf(w, "data: %s\n\n", t.Format(time.RFC3339))
				http.NewResponseController(w).Flush()
			}
		}
	})))
	log.Fatal(http.ListenAndServe("127.0.0.1:9090", nil))
}

// A RevocationSet answers whether a token is revoked from the events of a
// revocation feed; a Verifier keeps one, and so does the Gatehouse server.
// A user event revokes the tokens issued before it, so a login right after
// a password reset gets tokens that work.
func ExampleRevocationSet() {
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := verifier.NewRevocationSet(30 * time.Second)
	s.Add(t0, 0,
		verifier.RevocationEvent{Cursor: 7, SID: "sess-1", At: t0, Expires: t0.Add(5 * time.Minute)},
		verifier.RevocationEvent{Cursor: 8, User: "user-1", At: t0, Expires: t0.Add(5 * time.Minute)},
	)
	fmt.Println(s.Revoked("sess-1", "", "user-2", t0.Add(-time.Minute)))
	fmt.Println(s.Revoked("sess-2", "", "user-1", t0.Add(-time.Minute)))
	fmt.Println(s.Revoked("sess-3", "", "user-1", t0.Add(time.Minute)))
	fmt.Println(s.Cursor(), s.Len())
	fmt.Println(s.Prune(t0.Add(6*time.Minute)), s.Len())
	// Output:
	// true
	// true
	// false
	// 8 2
	// 2 0
}
