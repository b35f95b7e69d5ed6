package mail

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSMTPURL(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    SMTPConfig
		wantErr string // a part of the error; empty for success
	}{
		{name: "host and port", raw: "smtp://mail.example.com:25", want: SMTPConfig{Host: "mail.example.com", Port: 25}},
		{name: "default smtp port", raw: "smtp://mail.example.com", want: SMTPConfig{Host: "mail.example.com", Port: 587}},
		{name: "smtps default port", raw: "smtps://mail.example.com", want: SMTPConfig{Host: "mail.example.com", Port: 465, ImplicitTLS: true}},
		{name: "upper-case scheme", raw: "SMTPS://mail.example.com:2465", want: SMTPConfig{Host: "mail.example.com", Port: 2465, ImplicitTLS: true}},
		{name: "credentials percent-decoded", raw: "smtp://ops%40example.com:p%3Ass%2Fw@mail.example.com:587/",
			want: SMTPConfig{Host: "mail.example.com", Port: 587, Username: "ops@example.com", Password: "p:ss/w"}},
		{name: "ipv6 literal", raw: "smtp://[::1]:2525", want: SMTPConfig{Host: "::1", Port: 2525}},
		{name: "starttls required", raw: "smtp://h:25?starttls=required", want: SMTPConfig{Host: "h", Port: 25, RequireTLS: true}},

		{name: "empty", raw: "", wantErr: "no scheme"},
		{name: "no scheme", raw: "mail.example.com:25", wantErr: "scheme"},
		{name: "http scheme", raw: "http://mail.example.com:25", wantErr: `scheme "http": want smtp or smtps`},
		{name: "smtp+tls scheme", raw: "smtp+tls://h:25", wantErr: "want smtp or smtps"},
		{name: "opaque", raw: "smtp:mail.example.com", wantErr: "with the slashes"},
		{name: "missing host", raw: "smtp://:25", wantErr: "no host"},
		{name: "missing host with user", raw: "smtp://u:p@:25", wantErr: "no host"},
		{name: "port not a number", raw: "smtp://h:abc", wantErr: "port"},
		{name: "port zero", raw: "smtp://h:0", wantErr: `port "0": want a number from 1 to 65535`},
		{name: "port too large", raw: "smtp://h:65536", wantErr: "from 1 to 65535"},
		{name: "empty port", raw: "smtp://h:", wantErr: "empty port"},
		{name: "path", raw: "smtp://h:25/inbox", wantErr: "unexpected path"},
		{name: "fragment", raw: "smtp://h:25#x", wantErr: "fragment"},
		{name: "unknown parameter", raw: "smtp://h:25?tls=1", wantErr: `unknown parameter "tls"`},
		{name: "bad starttls value", raw: "smtp://h:25?starttls=maybe", wantErr: `the only value is "required"`},
		{name: "starttls on smtps", raw: "smtps://h:465?starttls=required", wantErr: "smtps:// always uses TLS"},
		{name: "user without password", raw: "smtp://user@h:25", wantErr: "both a user and a password"},
		{name: "empty password", raw: "smtp://user:@h:25", wantErr: "both a user and a password"},
		{name: "bad escape", raw: "smtp://u:p%zz@h:25", wantErr: "bad SMTP URL"},
		{name: "space in host", raw: "smtp://a b:25", wantErr: "bad SMTP URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSMTPURL(tt.raw)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseSMTPURL(%q) = %+v, want an error containing %q", tt.raw, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, errSMTPURL) {
					t.Fatalf("ParseSMTPURL(%q) error %q, want one containing %q", tt.raw, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSMTPURL(%q): %v", tt.raw, err)
			}
			if got != tt.want {
				t.Fatalf("ParseSMTPURL(%q) = %+v, want %+v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseSMTPURLNeverEchoesPassword(t *testing.T) {
	for _, raw := range []string{
		"smtp://user:s3cret-pw@h:99999",
		"smtp://user:s3cret-pw@h:25/x",
		"smtp://user:s3cret-pw%zz@h:25",
		"ftp://user:s3cret-pw@h:25",
	} {
		_, err := ParseSMTPURL(raw)
		if err == nil {
			t.Fatalf("ParseSMTPURL(%q): no error", raw)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseSMTPURL(%q) error %q shows the password", raw, err)
		}
	}
	c, err := ParseSMTPURL("smtps://user:s3cret-pw@h:465")
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Redacted(); strings.Contains(r, "s3cret") || r != "smtps://user:xxxxx@h:465" {
		t.Errorf("Redacted() = %q", r)
	}
}

// FuzzParseSMTPURL checks that the parser never panics, that what it
// accepts is complete, and that errors never repeat a password.
func FuzzParseSMTPURL(f *testing.F) {
	for _, s := range []string{
		"smtp://h:25", "smtps://u:p@h", "smtp://[::1]:2525?starttls=required",
		"smtp://:25", "smtp://h:0", "smtp:h", "", "smtp://u:p%zz@h",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := ParseSMTPURL(raw)
		if err != nil {
			if !errors.Is(err, errSMTPURL) {
				t.Fatalf("error %q does not wrap errSMTPURL", err)
			}
			return
		}
		if c.Host == "" || c.Port < 1 || c.Port > 65535 {
			t.Fatalf("accepted %q as %+v", raw, c)
		}
		if (c.Username == "") != (c.Password == "") {
			t.Fatalf("accepted %q with half the credentials: %+v", raw, c)
		}
		if c.ImplicitTLS && c.RequireTLS {
			t.Fatalf("accepted %q with both TLS modes", raw)
		}
		if _, err := ParseSMTPURL(c.Redacted()); err != nil && c.Username == "" {
			t.Fatalf("Redacted() %q of %q does not parse: %v", c.Redacted(), raw, err)
		}
	})
}
