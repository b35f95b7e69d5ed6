// Command gatehouse is the Gatehouse authentication server.
//
//	gatehouse serve [flags]         run the server (see "gatehouse serve -h")
//	gatehouse migrate [flags]       apply database migrations and exit
//	gatehouse user create --email E create a user; the password is read from stdin
//	gatehouse client create [flags] register an OAuth client; prints its id and secret once
//	gatehouse version               print the version
//
// Every flag has an environment variable: --data-dir is GATEHOUSE_DATA_DIR.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/gatehouse-auth/gatehouse/internal/app"
	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/oauth"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

const usage = `usage: gatehouse <command> [flags]

commands:
  serve         run the server
  migrate       apply database migrations and exit
  user create   create a user (--email; the password is read from stdin)
  client create register an OAuth client and print its id and secret once
                (--name, --grant-types, --scope, --audience, --redirect-uri,
                --auth-method, --first-party; "gatehouse client create -h")
  version       print the version

"gatehouse <command> -h" lists a command's flags. Every flag has an
environment variable: --data-dir is GATEHOUSE_DATA_DIR.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gatehouse:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "migrate":
		return migrate(ctx, args[1:], stdout, stderr)
	case "user":
		if len(args) < 2 || args[1] != "create" {
			return errors.New(`usage: gatehouse user create --email EMAIL [serve flags] < password`)
		}
		return createUser(ctx, args[2:], stdin, stdout, stderr)
	case "client":
		if len(args) < 2 || args[1] != "create" {
			return errors.New(`usage: gatehouse client create [--name N] [--grant-types T,...] [--scope "a b"] [--audience A]... [--redirect-uri U]... [--auth-method M] [--first-party] [serve flags]`)
		}
		return createClient(ctx, args[2:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "gatehouse", versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := config.Parse(args, nil)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	a, err := app.New(ctx, cfg, app.Options{Log: log})
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(stdout, "gatehouse %s listening on http://%s\n", versionString(), ln.Addr())
	fmt.Fprintf(stdout, "  issuer:      %s\n", cfg.Issuer)
	if a.DatabasePath != "" {
		fmt.Fprintf(stdout, "  database:    %s\n", a.DatabasePath)
	}
	fmt.Fprintf(stdout, "  admin token: %s\n", a.AdminTokenPath)
	log.Info("listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "version", versionString())
	return a.Serve(ctx, ln)
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := config.Parse(args, nil)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, app.Options{Log: newLogger(cfg, stderr)})
	if err != nil {
		return err
	}
	defer a.Close()
	v, err := a.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database is at schema version %d\n", v)
	return nil
}

func createUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var email string
	var rest []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--email" || a == "-email":
			if i+1 >= len(args) {
				return errors.New("--email needs a value")
			}
			email = args[i+1]
			i++
		case strings.HasPrefix(a, "--email=") || strings.HasPrefix(a, "-email="):
			email = a[strings.IndexByte(a, '=')+1:]
		default:
			rest = append(rest, a)
		}
	}
	if email == "" {
		return errors.New(`usage: gatehouse user create --email EMAIL [serve flags] < password`)
	}
	cfg, err := config.Parse(rest, nil)
	if err != nil {
		return err
	}
	pw, err := bufio.NewReader(io.LimitReader(stdin, identity.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password from stdin: %w", err)
	}
	pw = strings.TrimRight(pw, "\r\n")
	a, err := app.New(ctx, cfg, app.Options{Log: newLogger(cfg, stderr)})
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Users.CreateUser(ctx, identity.NewUser{Email: email, Password: pw})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %s (%s)\n", u.ID, u.Email)
	return nil
}

const clientCreateUsage = `usage: gatehouse client create [flags] [serve flags]

Registers an OAuth client in the database of --data-dir (or --db) and
prints its client_id and, unless it is public, its client_secret. The
secret is shown only this once: Gatehouse keeps only its SHA-256.

flags:
  --name NAME            client_name, shown to users
  --grant-types LIST     comma-separated: client_credentials, authorization_code,
                         refresh_token (default authorization_code)
  --scope "A B"          space-separated scopes the client may request
  --audience AUD         an audience the client may request tokens for;
                         repeat or separate with commas (default: the issuer)
  --redirect-uri URI     a redirect URI; repeat or separate with commas
  --auth-method METHOD   client_secret_basic (default), client_secret_post, or
                         none for a public client (no secret, PKCE required)
  --first-party          a first-party client: users are not asked for consent
`

// createClient registers an OAuth client, as POST /admin/v1/clients does.
func createClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		m    oauth.Metadata
		rest []string
	)
	list := func(v string) []string {
		var out []string
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
		return out
	}
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") {
			rest = append(rest, args[i])
			continue
		}
		switch name {
		case "h", "help":
			fmt.Fprint(stdout, clientCreateUsage)
			return flag.ErrHelp
		case "first-party":
			m.FirstParty = true
			if hasValue {
				b, err := strconv.ParseBool(value)
				if err != nil {
					return fmt.Errorf("--first-party: %w", err)
				}
				m.FirstParty = b
			}
			continue
		case "name", "grant-types", "scope", "audience", "redirect-uri", "auth-method":
		default:
			rest = append(rest, args[i])
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return fmt.Errorf("--%s needs a value", name)
			}
			i++
			value = args[i]
		}
		switch name {
		case "name":
			m.Name = value
		case "grant-types":
			m.GrantTypes = append(m.GrantTypes, list(value)...)
		case "scope":
			m.Scope = value
		case "audience":
			m.Audience = append(m.Audience, list(value)...)
		case "redirect-uri":
			m.RedirectURIs = append(m.RedirectURIs, list(value)...)
		case "auth-method":
			m.TokenEndpointAuthMethod = value
		}
	}
	cfg, err := config.Parse(rest, nil)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, app.Options{Log: newLogger(cfg, stderr)})
	if err != nil {
		return err
	}
	defer a.Close()
	reg, err := a.Clients.Register(ctx, m)
	if err != nil {
		var me *oauth.MetadataError
		if errors.As(err, &me) {
			return errors.New(me.Message())
		}
		return err
	}
	c := reg.Client
	fmt.Fprintf(stdout, "client_id:     %s\n", c.ID)
	if reg.Secret != "" {
		fmt.Fprintf(stdout, "client_secret: %s\n", reg.Secret)
	}
	fmt.Fprintf(stderr, "registered client %q: grant types %s, scope %q, auth method %s\n",
		c.Name, strings.Join(c.GrantTypes, ","), strings.Join(c.Scopes, " "), c.TokenEndpointAuthMethod)
	if reg.Secret != "" {
		fmt.Fprintln(stderr, "The client secret is shown only this once: Gatehouse keeps only its SHA-256.")
	} else {
		fmt.Fprintln(stderr, "A public client has no secret; it must use PKCE.")
	}
	return nil
}
