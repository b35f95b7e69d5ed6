// Command realtime is a small WebSocket chat protected by Gatehouse. The
// upgrade request is authenticated by the verifier's middleware (a bearer
// access token, or the Gatehouse session cookie for browsers), and each
// open socket is tied to its credential with Verifier.Watch: when the
// session, the token or the user is revoked, or the credential expires,
// the server closes the socket at once with a close code saying why
// (4003 revoked, 4001 expired).
//
//	go run . -issuer http://127.0.0.1:8080
//	go run . -connect ws://127.0.0.1:9091/ws -token "$TOKEN"    # a client
//
// README.md walks through a session.
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
		fmt.Fprintln(os.Stderr, "realtime:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		issuer   = flag.String("issuer", "http://127.0.0.1:8080", "Gatehouse issuer URL")
		audience = flag.String("audience", "", "this server's audience: tokens must name it in aud (default: the issuer, the audience of first-party tokens)")
		addr     = flag.String("addr", "127.0.0.1:9091", "listen address")
		leeway   = flag.Duration("leeway", 0, "clock skew allowed on exp (0: the verifier's default, 30s; negative: none)")
		origins  = flag.String("origins", "", "comma-separated host patterns of other origins allowed to open the socket")
		credFile = flag.String("introspection-credential-file", "", "file holding the admin token (or a gatehouse:admin JWT); enables browser session cookies")
		connect  = flag.String("connect", "", "run as a client instead: the chat's WebSocket URL, as ws://127.0.0.1:9091/ws")
		token    = flag.String("token", os.Getenv("TOKEN"), "client: the access token to connect with (default $TOKEN)")
	)
	flag.Parse()
	if *connect != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runClient(ctx, *connect, *token)
	}
	if *audience == "" {
		*audience = *issuer
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg := verifier.Config{Issuer: *issuer, Audience: *audience, Leeway: *leeway, Logger: logger}
	if *credFile != "" {
		b, err := os.ReadFile(*credFile)
		if err != nil {
			return err
		}
		cfg.SessionCookie.IntrospectionCredential = strings.TrimSpace(string(b))
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

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var allowed []string
	if *origins != "" {
		allowed = strings.Split(*origins, ",")
	}
	room := newChat(v, logger, allowed)
	srv := &http.Server{Handler: room.handler(), ReadHeaderTimeout: 5 * time.Second}
	fmt.Printf("chat on http://%s/ (WebSocket at ws://%s/ws), trusting %s for audience %s\n", ln.Addr(), ln.Addr(), *issuer, *audience)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
	}
	// Closing the verifier ends every watch with ErrClosed: each socket
	// is closed with 1001 (going away) before the server stops.
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	v.Close()
	err = srv.Shutdown(sctx)
	room.wait(sctx)
	return err
}
