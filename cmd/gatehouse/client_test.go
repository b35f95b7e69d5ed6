package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/app"
	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/oauth"
)

// TestClientCreate registers a client with the command, in process, and
// authenticates with the id and secret it printed.
func TestClientCreate(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"client", "create", "--data-dir", dir,
		"--name", "Reports", "--grant-types", "client_credentials", "--scope", "reports:read reports:write",
		"--audience", "https://api.example.com", "--audience=urn:example:billing", "--auth-method=client_secret_post",
	}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("client create: %v\n%s", err, errOut.String())
	}
	fields := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		k, v, _ := strings.Cut(line, ":")
		fields[k] = strings.TrimSpace(v)
	}
	id, secret := fields["client_id"], fields["client_secret"]
	if id == "" || !strings.HasPrefix(secret, oauth.SecretPrefix) || len(fields) != 2 {
		t.Fatalf("stdout = %q, want exactly client_id and client_secret", out.String())
	}
	if !strings.Contains(errOut.String(), "shown only this once") {
		t.Errorf("stderr does not warn that the secret is shown once: %q", errOut.String())
	}

	a := openApp(t, dir)
	c, err := a.Clients.Authenticate(context.Background(), oauth.Credentials{Method: oauth.AuthClientSecretPost, ClientID: id, Secret: secret})
	if err != nil {
		t.Fatalf("authenticate with the printed secret: %v", err)
	}
	if c.Name != "Reports" || strings.Join(c.Scopes, " ") != "reports:read reports:write" ||
		strings.Join(c.Audiences, " ") != "https://api.example.com urn:example:billing" || c.FirstParty {
		t.Errorf("registered %+v", c)
	}
}

func TestClientCreateRefusals(t *testing.T) {
	for name, args := range map[string][]string{
		"public client credentials": {"--grant-types", "client_credentials", "--auth-method", "none"},
		"bad redirect URI":          {"--redirect-uri", "http://example.com/cb"},
		"missing value":             {"--scope"},
		"bad first-party":           {"--grant-types", "client_credentials", "--first-party=maybe"},
		"unknown flag":              {"--grant-types", "client_credentials", "--no-such-flag"},
		"http back-channel URI":     {"--redirect-uri", "https://rp.example/cb", "--backchannel-logout-uri", "http://rp.example/bcl"},
		"session required alone":    {"--redirect-uri", "https://rp.example/cb", "--backchannel-logout-session-required"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), append([]string{"client", "create", "--data-dir", t.TempDir()}, args...), nil, &out, &errOut)
			if err == nil || errors.Is(err, context.Canceled) {
				t.Fatalf("client create %v succeeded: %s", args, out.String())
			}
			if strings.Contains(out.String(), "client_secret") {
				t.Errorf("a refused registration printed a secret")
			}
		})
	}
}

// TestClientCreateBackchannelLogout registers a client with a
// back-channel logout URI from the command line.
func TestClientCreateBackchannelLogout(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"client", "create", "--data-dir", dir, "--redirect-uri", "https://rp.example/cb",
		"--backchannel-logout-uri", "https://rp.example/backchannel-logout", "--backchannel-logout-session-required"}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("client create: %v\n%s", err, errOut.String())
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(out.String(), "client_id:"), "\n")
	a := openApp(t, dir)
	c, err := a.Clients.Get(context.Background(), strings.TrimSpace(id))
	if err != nil || c.BackchannelLogoutURI != "https://rp.example/backchannel-logout" || !c.BackchannelLogoutSessionRequired {
		t.Fatalf("registered %+v, %v", c, err)
	}
}

// openApp wires a server on dir, closed when the test ends.
func openApp(t *testing.T, dir string) *app.App {
	t.Helper()
	cfg, err := config.Parse([]string{"--data-dir", dir}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}
