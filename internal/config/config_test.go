package config_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/config"
)

// noEnv is an empty environment, so the real one never leaks into tests.
func noEnv(string) string { return "" }

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestDefaults checks "gatehouse serve" with no flags against the
// contract's table (shared/spec/http-api.md, "Starting the server").
func TestDefaults(t *testing.T) {
	c, err := config.Parse(nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"addr", c.Addr, "127.0.0.1:8080"},
		{"data-dir", c.DataDir, "./gatehouse-data"},
		{"db", c.DB, ""},
		{"sessions", c.Sessions, "db"},
		{"issuer", c.Issuer, "http://127.0.0.1:8080"},
		{"trusted-origins", len(c.TrustedOrigins), 0},
		{"trusted-proxies", len(c.TrustedProxies), 0},
		{"signup", c.Signup, true},
		{"access-token-ttl", c.AccessTokenTTL, 5 * time.Minute},
		{"session-idle-timeout", c.SessionIdleTimeout, 30 * time.Minute},
		{"session-lifetime", c.SessionLifetime, 12 * time.Hour},
		{"login-limit-account", c.LoginLimitAccount, config.RateLimit{Max: 10, Window: 15 * time.Minute}},
		{"login-limit-ip", c.LoginLimitIP, config.RateLimit{Max: 100, Window: 15 * time.Minute}},
		{"secure cookies", c.SecureCookies(), false},
		{"issuer origin", c.IssuerOrigin(), "http://127.0.0.1:8080"},
		{"log-level", c.LogLevel, "info"},
		{"shutdown-timeout", c.ShutdownTimeout, 30 * time.Second},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("default %s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

// contractFlags are the flags the contract names, with a non-default value
// and how to read it back.
var contractFlags = []struct {
	flag, value string
	get         func(config.Config) any
	want        any
}{
	{"addr", "127.0.0.1:9999", func(c config.Config) any { return c.Addr }, "127.0.0.1:9999"},
	{"data-dir", "/var/lib/gh", func(c config.Config) any { return c.DataDir }, "/var/lib/gh"},
	{"db", "/var/lib/gh/other.db", func(c config.Config) any { return c.DB }, "/var/lib/gh/other.db"},
	{"sessions", "redis://localhost:6379/0", func(c config.Config) any { return c.Sessions }, "redis://localhost:6379/0"},
	{"issuer", "https://auth.example.com", func(c config.Config) any { return c.Issuer }, "https://auth.example.com"},
	{"trusted-origins", "https://a.example.com,https://b.example.com", func(c config.Config) any { return c.TrustedOrigins }, []string{"https://a.example.com", "https://b.example.com"}},
	{"signup", "false", func(c config.Config) any { return c.Signup }, false},
	{"access-token-ttl", "90s", func(c config.Config) any { return c.AccessTokenTTL }, 90 * time.Second},
	{"session-idle-timeout", "5m", func(c config.Config) any { return c.SessionIdleTimeout }, 5 * time.Minute},
	{"session-lifetime", "2h", func(c config.Config) any { return c.SessionLifetime }, 2 * time.Hour},
	{"login-limit-account", "5/1m", func(c config.Config) any { return c.LoginLimitAccount }, config.RateLimit{Max: 5, Window: time.Minute}},
	{"login-limit-ip", "0/1m", func(c config.Config) any { return c.LoginLimitIP }, config.RateLimit{Max: 0, Window: time.Minute}},
	{"trusted-proxies", "10.0.0.0/8", func(c config.Config) any { return c.TrustedProxies }, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
}

func TestFlagsAndEnvironment(t *testing.T) {
	for _, f := range contractFlags {
		t.Run(f.flag, func(t *testing.T) {
			name := config.EnvName(f.flag)
			if want := "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(f.flag, "-", "_")); name != want {
				t.Fatalf("EnvName(%q) = %q, want %q", f.flag, name, want)
			}
			fromFlag, err := config.Parse([]string{"--" + f.flag + "=" + f.value}, noEnv)
			if err != nil {
				t.Fatalf("--%s=%s: %v", f.flag, f.value, err)
			}
			if got := f.get(fromFlag); !reflect.DeepEqual(got, f.want) {
				t.Errorf("--%s %s gives %v, want %v", f.flag, f.value, got, f.want)
			}
			fromEnv, err := config.Parse(nil, env(map[string]string{name: f.value}))
			if err != nil {
				t.Fatalf("%s=%s: %v", name, f.value, err)
			}
			if got := f.get(fromEnv); !reflect.DeepEqual(got, f.want) {
				t.Errorf("%s=%s gives %v, want %v", name, f.value, got, f.want)
			}
			// The flag wins over the variable, even over a bad one.
			defaults, _ := config.Parse(nil, noEnv)
			both, err := config.Parse([]string{"--" + f.flag + "=" + f.value}, env(map[string]string{name: "bogus value"}))
			if err != nil {
				t.Fatalf("flag and bad variable: %v", err)
			}
			if got := f.get(both); !reflect.DeepEqual(got, f.want) {
				t.Errorf("flag and variable: %v, want the flag's %v (default %v)", got, f.want, f.get(defaults))
			}
		})
	}
}

func TestIssuer(t *testing.T) {
	cases := []struct {
		args   []string
		issuer string
		secure bool
		origin string
	}{
		{[]string{"--addr", "127.0.0.1:9000"}, "http://127.0.0.1:9000", false, "http://127.0.0.1:9000"},
		{[]string{"--addr", "127.0.0.1:9000", "--issuer", "https://auth.example.com/base"}, "https://auth.example.com/base", true, "https://auth.example.com"},
		{[]string{"--issuer", "http://localhost:8080"}, "http://localhost:8080", false, "http://localhost:8080"},
		{[]string{"--issuer", "HTTPS://auth.example.com"}, "HTTPS://auth.example.com", true, "https://auth.example.com"},
	}
	for _, tc := range cases {
		c, err := config.Parse(tc.args, noEnv)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if c.Issuer != tc.issuer || c.SecureCookies() != tc.secure || c.IssuerOrigin() != tc.origin {
			t.Errorf("%q: issuer %q secure %v origin %q; want %q %v %q", tc.args, c.Issuer, c.SecureCookies(), c.IssuerOrigin(), tc.issuer, tc.secure, tc.origin)
		}
	}
}

func TestBadValues(t *testing.T) {
	cases := []struct {
		flag, value string
	}{
		{"access-token-ttl", "0s"},
		{"access-token-ttl", "-5m"},
		{"access-token-ttl", "five minutes"},
		{"session-idle-timeout", "0"},
		{"session-lifetime", "-1h"},
		{"grant-idle-timeout", "0s"},
		{"grant-lifetime", "-1s"},
		{"sweep-interval", "0s"},
		{"shutdown-timeout", "-1s"},
		{"issuer", "ftp://auth.example.com"},
		{"issuer", "auth.example.com"},
		{"issuer", "https://"},
		{"issuer", "https://auth.example.com/?q=1"},
		{"issuer", "https://auth.example.com/#frag"},
		{"trusted-origins", "app.example.com"},
		{"trusted-origins", "https://app.example.com/path"},
		{"trusted-origins", "https://ok.example.com,javascript:alert(1)"},
		{"trusted-proxies", "bogus"},
		{"metrics-addr", "9464"},
		{"metrics-interval", "0s"},
		{"max-streams", "-1"},
		{"max-streams-per-client", "-1"},
		{"trusted-proxies", "10.0.0.0/99"},
		{"login-limit-account", "10"},
		{"login-limit-account", "x/1m"},
		{"login-limit-account", "-1/1m"},
		{"login-limit-account", "10/0s"},
		{"login-limit-ip", "10/soon"},
		{"sessions", "mysql://localhost"},
		{"log-level", "loud"},
		{"log-format", "xml"},
		{"hash-concurrency", "-1"},
		{"hash-concurrency", "many"},
		{"signup", "maybe"},
	}
	for _, tc := range cases {
		t.Run(tc.flag+"="+tc.value, func(t *testing.T) {
			if _, err := config.Parse([]string{"--" + tc.flag + "=" + tc.value}, noEnv); err == nil {
				t.Errorf("--%s=%s accepted", tc.flag, tc.value)
			}
			name := config.EnvName(tc.flag)
			_, err := config.Parse(nil, env(map[string]string{name: tc.value}))
			if err == nil {
				t.Errorf("%s=%s accepted", name, tc.value)
			}
		})
	}
	for _, args := range [][]string{{"--no-such-flag"}, {"extra", "arguments"}, {"--addr"}} {
		if _, err := config.Parse(args, noEnv); err == nil {
			t.Errorf("Parse(%q) accepted", args)
		}
	}
}

// TestBadEnvironmentNamesVariable checks that an error from the
// environment names the variable, so an operator can find it.
func TestBadEnvironmentNamesVariable(t *testing.T) {
	_, err := config.Parse(nil, env(map[string]string{"GATEHOUSE_ACCESS_TOKEN_TTL": "soon"}))
	if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_ACCESS_TOKEN_TTL") {
		t.Errorf("error %v does not name GATEHOUSE_ACCESS_TOKEN_TTL", err)
	}
}

func TestTrustedOriginsAndProxies(t *testing.T) {
	c, err := config.Parse([]string{
		"--trusted-origins", " https://a.example.com/ , ,http://b.example.com:8080",
		"--trusted-proxies", "10.1.2.3/8, 192.0.2.7 ,::1",
	}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://a.example.com", "http://b.example.com:8080"}; !slices.Equal(c.TrustedOrigins, want) {
		t.Errorf("trusted origins %q, want %q", c.TrustedOrigins, want)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("::1/128")}
	if !slices.Equal(c.TrustedProxies, want) {
		t.Errorf("trusted proxies %v, want %v", c.TrustedProxies, want)
	}
}

// TestOriginsAreSerialised checks that configured origins are compared in
// the form browsers send in the Origin header (RFC 6454 section 6.1):
// lower-case scheme and host, no default port. Otherwise an operator who
// writes "https://App.Example.com" locks every browser out.
func TestOriginsAreSerialised(t *testing.T) {
	c, err := config.Parse([]string{
		"--issuer", "https://Auth.Example.com:443",
		"--trusted-origins", "HTTPS://App.Example.COM,http://b.example.com:80,https://c.example.com:8443",
	}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://app.example.com", "http://b.example.com", "https://c.example.com:8443"}; !slices.Equal(c.TrustedOrigins, want) {
		t.Errorf("trusted origins %q, want %q", c.TrustedOrigins, want)
	}
	if got, want := c.IssuerOrigin(), "https://auth.example.com"; got != want {
		t.Errorf("issuer origin %q, want %q", got, want)
	}
}

func TestParseRateLimit(t *testing.T) {
	good := map[string]config.RateLimit{
		"10/15m":    {Max: 10, Window: 15 * time.Minute},
		" 3/1h30m ": {Max: 3, Window: 90 * time.Minute},
		"0/1m":      {Max: 0, Window: time.Minute},
		"1/1ns":     {Max: 1, Window: time.Nanosecond},
	}
	for s, want := range good {
		got, err := config.ParseRateLimit(s)
		if err != nil || got != want {
			t.Errorf("ParseRateLimit(%q) = %v, %v; want %v", s, got, err, want)
		}
		if back, err := config.ParseRateLimit(got.String()); err != nil || back != got {
			t.Errorf("ParseRateLimit(%q.String() = %q) = %v, %v", s, got.String(), back, err)
		}
	}
	for _, s := range []string{"", "/", "10", "10/", "/15m", "ten/15m", "-1/15m", "10/0s", "10/-1m", "10/15", "10/15m/2", "1e3/1m", "99999999999999999999/1m"} {
		if got, err := config.ParseRateLimit(s); err == nil {
			t.Errorf("ParseRateLimit(%q) = %v, want an error", s, got)
		}
	}
}

// FuzzParseRateLimit checks that whatever ParseRateLimit accepts is a
// usable limit that survives a round trip through String.
func FuzzParseRateLimit(f *testing.F) {
	for _, s := range []string{"10/15m", "0/1m", "1/1ns", " 3/1h30m ", "10", "-1/1m", "10/0s", "+5/1s", "9223372036854775807/2562047h47m16.854775807s", "1/1.5h", "1/.5s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := config.ParseRateLimit(s)
		if err != nil {
			if r != (config.RateLimit{}) {
				t.Fatalf("ParseRateLimit(%q) = %v with error %v", s, r, err)
			}
			return
		}
		if r.Max < 0 || r.Window <= 0 {
			t.Fatalf("ParseRateLimit(%q) = %v: negative count or non-positive window", s, r)
		}
		back, err := config.ParseRateLimit(r.String())
		if err != nil || back != r {
			t.Fatalf("round trip of %q: %v -> %q -> %v, %v", s, r, r.String(), back, err)
		}
	})
}

// TestMetricsAndStreamLimits checks the defaults of the metrics listener
// and the stream limits, and that "off" turns the listener off.
func TestMetricsAndStreamLimits(t *testing.T) {
	c, err := config.Parse(nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsListener() != "127.0.0.1:9464" || c.MetricsInterval != time.Minute || c.MaxStreams != 1000 || c.MaxStreamsPerClient != 10 {
		t.Errorf("defaults: metrics %q every %v, streams %d, per client %d", c.MetricsListener(), c.MetricsInterval, c.MaxStreams, c.MaxStreamsPerClient)
	}
	for _, off := range []string{"off", ""} {
		c, err := config.Parse([]string{"--metrics-addr", off}, noEnv)
		if err != nil || c.MetricsListener() != "" {
			t.Errorf("--metrics-addr %q: listener %q, err %v", off, c.MetricsListener(), err)
		}
	}
	c, err = config.Parse(nil, env(map[string]string{"GATEHOUSE_METRICS_ADDR": "off", "GATEHOUSE_MAX_STREAMS": "0", "GATEHOUSE_MAX_STREAMS_PER_CLIENT": "3"}))
	if err != nil || c.MetricsListener() != "" || c.MaxStreams != 0 || c.MaxStreamsPerClient != 3 {
		t.Errorf("from the environment: %+v, %v", c, err)
	}
}

// TestCommandHelp checks that -h of a command lists its own flags and the
// settings it takes, each as --flag with its environment variable, and
// nothing else.
func TestCommandHelp(t *testing.T) {
	var email string
	cmd := config.Command{Name: "user create", Usage: "Creates a user.", Settings: []string{"data-dir", "db"},
		Flags: func(fs *flag.FlagSet) { fs.StringVar(&email, "email", "", "the `EMAIL`") }}
	var out bytes.Buffer
	_, err := config.ParseCommand(cmd, []string{"-h"}, noEnv, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: err %v, want flag.ErrHelp", err)
	}
	help := out.String()
	for _, want := range []string{"usage: gatehouse user create", "Creates a user.", "--email EMAIL", "--data-dir DIR", "GATEHOUSE_DATA_DIR", "--db URL", "GATEHOUSE_DB"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	for _, not := range []string{"--addr", "--session-lifetime", "GATEHOUSE_EMAIL", "\n  -data-dir"} {
		if strings.Contains(help, not) {
			t.Errorf("help has %q:\n%s", not, help)
		}
	}
	// A setting the command does not take is refused on the command
	// line, and still read from the environment.
	if _, err := config.ParseCommand(cmd, []string{"--addr", "127.0.0.1:1"}, noEnv, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "unknown flag --addr") {
		t.Errorf("user create --addr: err %v, want unknown flag --addr", err)
	}
	c, err := config.ParseCommand(cmd, []string{"--email", "a@example.com", "--data-dir", "d"}, env(map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:9"}), io.Discard)
	if err != nil || email != "a@example.com" || c.DataDir != "d" || c.Addr != "127.0.0.1:9" {
		t.Errorf("user create: %+v, email %q, err %v", c, email, err)
	}
	// serve's help lists every setting.
	out.Reset()
	if _, err := config.ParseCommand(config.Command{Name: "serve"}, []string{"--help"}, noEnv, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("serve --help: %v", err)
	}
	for _, f := range contractFlags {
		if !strings.Contains(out.String(), "--"+f.flag+" ") || !strings.Contains(out.String(), config.EnvName(f.flag)) {
			t.Errorf("serve help lacks --%s or its variable", f.flag)
		}
	}
}

// TestBadDurationSaysWhy checks that a bad duration, from a flag or a
// variable, names it, says what is wrong and shows an example, instead
// of the flag package's "parse error".
func TestBadDurationSaysWhy(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want []string
	}{
		{[]string{"--grant-lifetime", "30d"}, nil, []string{`--grant-lifetime "30d"`, `unknown unit "d"`, "720h"}},
		{[]string{"--access-token-ttl=5"}, nil, []string{`--access-token-ttl "5"`, "no unit", "720h"}},
		{[]string{"--session-lifetime", "soon"}, nil, []string{`--session-lifetime "soon"`, "not a duration", "720h"}},
		{nil, map[string]string{"GATEHOUSE_GRANT_IDLE_TIMEOUT": "30"}, []string{`GATEHOUSE_GRANT_IDLE_TIMEOUT="30"`, "no unit", "720h"}},
		{[]string{"--signup=maybe"}, nil, []string{`--signup "maybe"`, "want true or false"}},
		{[]string{"--hash-concurrency", "many"}, nil, []string{`--hash-concurrency "many"`, "whole number"}},
	}
	for _, tc := range cases {
		_, err := config.Parse(tc.args, env(tc.env))
		if err == nil {
			t.Errorf("%q %v accepted", tc.args, tc.env)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q %v: error %q lacks %q", tc.args, tc.env, err, w)
			}
		}
		if strings.Contains(err.Error(), "parse error") || strings.Contains(err.Error(), "usage") {
			t.Errorf("%q: error %q", tc.args, err)
		}
	}
	if got := config.FormatDuration(720 * time.Hour); got != "720h" {
		t.Errorf("FormatDuration(720h) = %q", got)
	}
}

func TestMailSettings(t *testing.T) {
	c, err := config.Parse(nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPURL != "" || c.ProductName != "Gatehouse" || c.MailTemplates != "" || c.MailDir() != "gatehouse-data/mail" {
		t.Errorf("mail defaults: smtp-url %q product %q templates %q dir %q", c.SMTPURL, c.ProductName, c.MailTemplates, c.MailDir())
	}
	if c.MailFrom != `"Gatehouse" <no-reply@127.0.0.1>` {
		t.Errorf("default --mail-from = %q", c.MailFrom)
	}
	for addr, want := range map[string]string{
		"[::1]:8080":          `"Gatehouse" <no-reply@localhost>`,
		"localhost:8080":      `"Gatehouse" <no-reply@localhost>`,
		"auth.example.com:80": `"Gatehouse" <no-reply@auth.example.com>`,
	} {
		c, err := config.Parse([]string{"--addr", addr}, noEnv)
		if err != nil || c.MailFrom != want {
			t.Errorf("--addr %s: default --mail-from %q (%v), want %q", addr, c.MailFrom, err, want)
		}
	}
	c, err = config.Parse([]string{"--smtp-url", "smtps://u:p@mail.example.com", "--mail-from", "Acme <id@acme.example>", "--product-name", "Acme ID"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPURL != "smtps://u:p@mail.example.com" || c.MailFrom != "Acme <id@acme.example>" || c.ProductName != "Acme ID" {
		t.Errorf("mail flags: %+v", c)
	}
	c, err = config.Parse(nil, env(map[string]string{"GATEHOUSE_SMTP_URL": "smtp://mail.example.com:25", "GATEHOUSE_MAIL_FROM": "id@acme.example"}))
	if err != nil || c.SMTPURL != "smtp://mail.example.com:25" || c.MailFrom != "id@acme.example" {
		t.Errorf("mail variables: %v %+v", err, c)
	}

	good := t.TempDir()
	if err := os.WriteFile(filepath.Join(good, "password_changed.subject.tmpl"), []byte("{{.ProductName}}: password changed"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Parse([]string{"--mail-templates", good}, noEnv); err != nil {
		t.Errorf("good --mail-templates: %v", err)
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "verify_email.txt.tmpl"), []byte("no link here"), 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"bad scheme", []string{"--smtp-url", "http://mail.example.com", "--mail-from", "a@b.example"}, "--smtp-url"},
		{"missing host", []string{"--smtp-url", "smtp://:25", "--mail-from", "a@b.example"}, "no host"},
		{"bad port", []string{"--smtp-url", "smtp://h:99999", "--mail-from", "a@b.example"}, "port"},
		{"smtp without from", []string{"--smtp-url", "smtp://mail.example.com:25"}, "--mail-from is required"},
		{"bad from", []string{"--mail-from", "not an address"}, "--mail-from"},
		{"empty product name", []string{"--product-name", " "}, "--product-name"},
		{"control character in product name", []string{"--product-name", "A\nB"}, "--product-name"},
		{"missing template dir", []string{"--mail-templates", filepath.Join(good, "nope")}, "--mail-templates"},
		{"bad template", []string{"--mail-templates", bad}, "0 times"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse(tc.args, noEnv)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Parse(%q) error %v, want one containing %q", tc.args, err, tc.wantErr)
			}
		})
	}
	_, err = config.Parse([]string{"--smtp-url", "smtp://user:hunter2@h:0", "--mail-from", "a@b.example"}, noEnv)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a bad --smtp-url error shows the password: %v", err)
	}
}
