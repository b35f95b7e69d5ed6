// Command gatehouse is the Gatehouse authentication server.
//
//	gatehouse serve [flags]         run the server (see "gatehouse serve -h")
//	gatehouse migrate [flags]       apply database migrations and exit
//	gatehouse user create --email E create a user; the password is prompted for or read from stdin
//	gatehouse client create [flags] register an OAuth client; prints its id and secret once
//	gatehouse version               print the version (also -v, --version)
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
	"strings"
	"syscall"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/app"
	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"golang.org/x/term"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

const usage = `usage: gatehouse <command> [flags]

commands:
  serve         run the server
  migrate       apply database migrations and exit
  user create   create a user (--email; the password is prompted for on a
                terminal, else read from stdin)
  client create register an OAuth client and print its id and secret once
                (--name, --grant-types, --scope, --audience, --redirect-uri,
                --auth-method, --first-party, --backchannel-logout-uri;
                "gatehouse client create -h")
  version       print the version (also -v, --version)

"gatehouse <command> -h" lists a command's flags. Every flag has an
environment variable: --data-dir is GATEHOUSE_DATA_DIR.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
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
			return groupUsage(args, stdout, `usage: gatehouse user create --email EMAIL [flags] ("gatehouse user create -h" lists them)`)
		}
		return createUser(ctx, args[2:], stdin, stdout, stderr)
	case "client":
		if len(args) < 2 || args[1] != "create" {
			return groupUsage(args, stdout, `usage: gatehouse client create [flags] ("gatehouse client create -h" lists them)`)
		}
		return createClient(ctx, args[2:], stdout, stderr)
	case "version", "--version", "-version", "-v":
		fmt.Fprintln(stdout, "gatehouse", versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// groupUsage answers "gatehouse user" or "gatehouse client" without
// "create": given -h, the usage on stdout and flag.ErrHelp (exit 0);
// otherwise the usage as the error.
func groupUsage(args []string, stdout io.Writer, use string) error {
	if len(args) >= 2 && (args[1] == "-h" || args[1] == "--help" || args[1] == "help") {
		fmt.Fprintln(stdout, use)
		return flag.ErrHelp
	}
	return errors.New(use)
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

// storageSettings are the settings a command that only opens the
// database takes on its command line.
var storageSettings = []string{"data-dir", "db", "log-level", "log-format"}

var (
	serveCommand = config.Command{Name: "serve", Usage: "Runs the server. docs/configuration.md explains every flag."}
	migrateCmd   = config.Command{Name: "migrate", Settings: storageSettings,
		Usage: "Applies pending database migrations and prints the schema version.\n\"gatehouse serve\" migrates on start too."}
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := config.ParseCommand(serveCommand, args, nil, stdout)
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
	fmt.Fprintf(stdout, "  database:    %s\n", databaseName(cfg, a.DatabasePath))
	fmt.Fprintf(stdout, "  sessions:    %s\n", sessionStoreName(cfg))
	fmt.Fprintf(stdout, "  admin token: %s\n", a.AdminTokenPath)
	log.Info("listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "version", versionString())
	return a.Serve(ctx, ln)
}

// databaseName describes the database for the start banner, without a
// password.
func databaseName(cfg config.Config, sqlitePath string) string {
	if sqlitePath != "" {
		return "SQLite " + sqlitePath
	}
	return "PostgreSQL " + config.RedactURL(cfg.DB)
}

// sessionStoreName describes the session store for the start banner,
// without a password.
func sessionStoreName(cfg config.Config) string {
	if cfg.Sessions == "db" {
		return "the database"
	}
	return "Redis " + config.RedactURL(cfg.Sessions)
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := config.ParseCommand(migrateCmd, args, nil, stdout)
	if err != nil {
		return err
	}
	db, err := app.OpenDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database is at schema version %d\n", v)
	return nil
}

const userCreateUsage = `Creates a user. On a terminal it asks for the password twice, without
echo; otherwise the password is the first line of stdin:

  printf '%s\n' "$PASSWORD" | gatehouse user create --email bob@example.com`

func createUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var email string
	cmd := config.Command{Name: "user create", Usage: userCreateUsage, Settings: storageSettings,
		Flags: func(fs *flag.FlagSet) { fs.StringVar(&email, "email", "", "the user's `EMAIL` address (required)") }}
	cfg, err := config.ParseCommand(cmd, args, nil, stdout)
	if err != nil {
		return err
	}
	if email == "" {
		return errors.New(`--email is required ("gatehouse user create -h" lists the flags)`)
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	db, err := app.OpenDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := db.Accounts(cfg, app.Options{Log: newLogger(cfg, stderr)})
	if err != nil {
		return err
	}
	u, err := svc.CreateUser(ctx, accounts.NewUser{Email: email, Password: pw})
	if errors.Is(err, store.ErrConflict) {
		return errors.New("a user with this email exists")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %s (%s)\n", u.ID, u.Email)
	return nil
}

// readPassword asks for the password twice without echo when stdin is a
// terminal, and otherwise reads its first line.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(prompt string) (string, error) {
			fmt.Fprint(stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stderr)
			if err != nil {
				return "", fmt.Errorf("read password: %w", err)
			}
			return string(b), nil
		}
		pw, err := ask("Password: ")
		if err != nil {
			return "", err
		}
		again, err := ask("Password again: ")
		if err != nil {
			return "", err
		}
		if pw != again {
			return "", errors.New("the two passwords differ")
		}
		return pw, nil
	}
	pw, err := bufio.NewReader(io.LimitReader(stdin, identity.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	return strings.TrimRight(pw, "\r\n"), nil
}

const clientCreateUsage = `Registers an OAuth client in the database of --data-dir (or --db) and
prints its client_id and, unless it is public, its client_secret. The
secret is shown only this once: Gatehouse keeps only its SHA-256.`

// listFlag is a flag that may be repeated and holds comma-separated values.
type listFlag struct{ p *[]string }

func (l listFlag) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Join(*l.p, ",")
}

func (l listFlag) Set(v string) error {
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			*l.p = append(*l.p, x)
		}
	}
	return nil
}

// createClient registers an OAuth client, as POST /admin/v1/clients does.
func createClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var m oauth.Metadata
	cmd := config.Command{Name: "client create", Usage: clientCreateUsage,
		Settings: append([]string{"issuer"}, storageSettings...),
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&m.Name, "name", "", "client_name, shown to users")
			fs.Var(listFlag{&m.GrantTypes}, "grant-types", "comma-separated `GRANTS`: client_credentials, authorization_code,\n      refresh_token (default authorization_code)")
			fs.StringVar(&m.Scope, "scope", "", "space-separated `SCOPES` the client may request")
			fs.Var(listFlag{&m.Audience}, "audience", "an `AUDIENCE` the client may request tokens for; repeat or separate\n      with commas (default: the issuer)")
			fs.Var(listFlag{&m.RedirectURIs}, "redirect-uri", "a redirect `URI`; repeat or separate with commas")
			fs.StringVar(&m.TokenEndpointAuthMethod, "auth-method", "", "client_secret_basic (default), client_secret_post, or none for a\n      public client (no secret, PKCE required)")
			fs.BoolVar(&m.FirstParty, "first-party", false, "a first-party client: users are not asked for consent")
			fs.StringVar(&m.BackchannelLogoutURI, "backchannel-logout-uri", "", "the client's OpenID Connect back-channel logout `URL` (https, or http\n      on loopback), which receives logout tokens")
			fs.BoolVar(&m.BackchannelLogoutSessionRequired, "backchannel-logout-session-required", false, "the client needs sid in logout tokens (needs --backchannel-logout-uri)")
		}}
	cfg, err := config.ParseCommand(cmd, args, nil, stdout)
	if err != nil {
		return err
	}
	db, err := app.OpenDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	reg, err := db.Clients(cfg, app.Options{Log: newLogger(cfg, stderr)}).Register(ctx, m)
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
