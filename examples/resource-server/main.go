// Command resource-server is a minimal API protected by Gatehouse: it
// answers GET /hello for callers with a valid Gatehouse access token
// (Authorization: Bearer ...) and, if given a resource-server client
// (-client-id, with scope gatehouse:introspect), for browsers with a
// Gatehouse session cookie, and prints who called.
//
//	go run ./examples/resource-server -issuer http://127.0.0.1:8080 -audience http://127.0.0.1:8080
//
// docs/verifier.md walks through a session with curl.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-auth/gatehouse/verifier"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "resource-server:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		issuer     = flag.String("issuer", "http://127.0.0.1:8080", "Gatehouse issuer URL")
		audience   = flag.String("audience", "", "this server's audience: tokens must name it in aud (required)")
		addr       = flag.String("addr", "127.0.0.1:9090", "listen address")
		scopes     = flag.String("scopes", "", "space-separated scopes every caller needs")
		revs       = flag.String("revocations", "stream", "revocation feed: stream, poll or off")
		poll       = flag.Duration("poll-interval", verifier.DefaultPollInterval, "revocation poll interval (poll mode, and while the stream is down)")
		clientID   = flag.String("client-id", os.Getenv("GATEHOUSE_CLIENT_ID"), "resource-server client (scope gatehouse:introspect); with its secret, enables session cookies")
		secretFile = flag.String("client-secret-file", "", "file holding that client's secret (or set GATEHOUSE_CLIENT_SECRET)")
		credFile   = flag.String("introspection-credential-file", "", "file holding the admin token (or a gatehouse:admin JWT); enables session cookies, with more power than needed: prefer -client-id")
		verbosity  = flag.Bool("v", false, "log the verifier's connection events")
	)
	flag.Parse()
	if *audience == "" {
		return errors.New("-audience is required")
	}
	level := slog.LevelWarn
	if *verbosity {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	cfg := verifier.Config{
		Issuer:         *issuer,
		Audience:       *audience,
		RequiredScopes: strings.Fields(*scopes),
		Revocations:    verifier.RevocationConfig{Mode: verifier.RevocationMode(*revs), PollInterval: *poll},
		Logger:         logger,
	}
	if *clientID != "" {
		// A resource server: it may introspect every session, and
		// do nothing else.
		cfg.SessionCookie.ClientID = *clientID
		cfg.SessionCookie.ClientSecret = os.Getenv("GATEHOUSE_CLIENT_SECRET")
		if *secretFile != "" {
			b, err := os.ReadFile(*secretFile)
			if err != nil {
				return err
			}
			cfg.SessionCookie.ClientSecret = strings.TrimSpace(string(b))
		}
	} else if *credFile != "" {
		b, err := os.ReadFile(*credFile)
		if err != nil {
			return err
		}
		cfg.SessionCookie.IntrospectionCredential = strings.TrimSpace(string(b))
	} else if c := os.Getenv("GATEHOUSE_INTROSPECTION_CREDENTIAL"); c != "" {
		cfg.SessionCookie.IntrospectionCredential = c
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	v, err := verifier.New(startCtx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer v.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /hello", v.Middleware(http.HandlerFunc(hello)))
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("resource server on http://%s/hello, trusting %s for audience %s (revocations: %s, cookies: %v)\n",
		ln.Addr(), *issuer, *audience, *revs, cfg.SessionCookie.IntrospectionCredential != "" || cfg.SessionCookie.ClientID != "")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	return srv.Shutdown(sctx)
}

// hello greets the caller and logs who it was.
func hello(w http.ResponseWriter, r *http.Request) {
	p, _ := verifier.FromContext(r.Context())
	claims, err := p.Claims()
	if err != nil {
		http.Error(w, "malformed token claims", http.StatusUnauthorized)
		return
	}
	fmt.Printf("%s GET /hello: sub=%s sid=%s method=%s scopes=%q claims=%v\n",
		time.Now().Format(time.RFC3339), p.Subject, p.SessionID, p.Method, p.Scopes(), claims)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "hello, %s (authenticated by %s, session %s)\n", p.Subject, p.Method, p.SessionID)
}
