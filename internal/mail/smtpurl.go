package mail

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// SMTPConfig is where and how SMTPSender connects, as ParseSMTPURL reads
// it from --smtp-url.
type SMTPConfig struct {
	// Host and Port locate the server. Port defaults to 587 for smtp://
	// and 465 for smtps://.
	Host string
	Port int
	// ImplicitTLS (smtps://) speaks TLS from the first byte. Otherwise
	// the sender upgrades with STARTTLS when the server offers it, and
	// RequireTLS (?starttls=required) refuses a server that does not.
	ImplicitTLS bool
	RequireTLS  bool
	// Username and Password, when given, authenticate with AUTH PLAIN or
	// LOGIN (whichever the server offers, PLAIN first). Either mechanism
	// refuses to send them over a connection without TLS unless the
	// server is on the loopback interface.
	Username string
	Password string
}

// Address returns host:port.
func (c SMTPConfig) Address() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// Redacted returns the configuration as a URL without the password, for
// logs and start-up banners.
func (c SMTPConfig) Redacted() string {
	u := url.URL{Scheme: "smtp", Host: c.Address()}
	if c.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if c.Username != "" {
		u.User = url.UserPassword(c.Username, "xxxxx")
	}
	if c.RequireTLS {
		u.RawQuery = "starttls=required"
	}
	return u.String()
}

// errSMTPURL starts every error of ParseSMTPURL.
var errSMTPURL = errors.New("mail: bad SMTP URL")

// ParseSMTPURL reads smtp://[user:pass@]host[:port][?starttls=required]
// or smtps://[user:pass@]host[:port]. User and password are
// percent-decoded. Errors say what is wrong without repeating the
// password, and wrap errSMTPURL.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	bad := func(format string, a ...any) (SMTPConfig, error) {
		return SMTPConfig{}, fmt.Errorf("%w: "+format, append([]any{errSMTPURL}, a...)...)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, password included: say only why.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return bad("%v", err)
	}
	var c SMTPConfig
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		c.Port = 587
	case "smtps":
		c.Port, c.ImplicitTLS = 465, true
	case "":
		return bad("no scheme: want smtp://host:port or smtps://host:port")
	default:
		return bad("scheme %q: want smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" {
		return bad("want %s://host:port, with the slashes", u.Scheme)
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return bad("no host: want %s://host:port", u.Scheme)
	}
	if strings.ContainsAny(c.Host, " \t\r\n%") {
		return bad("host %q is not a host name or address", c.Host)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad("port %q: want a number from 1 to 65535", p)
		}
		c.Port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return bad("empty port after the host")
	}
	if u.Path != "" && u.Path != "/" {
		return bad("unexpected path %q", u.Path)
	}
	if u.Fragment != "" {
		return bad("unexpected fragment")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("query: %v", err)
	}
	for k, v := range q {
		switch {
		case k == "starttls" && len(v) == 1 && v[0] == "required" && !c.ImplicitTLS:
			c.RequireTLS = true
		case k == "starttls" && c.ImplicitTLS:
			return bad("starttls= is for smtp://; smtps:// always uses TLS")
		case k == "starttls":
			return bad(`starttls=%q: the only value is "required"`, strings.Join(v, ","))
		default:
			return bad("unknown parameter %q (the only one is starttls=required)", k)
		}
	}
	if u.User != nil {
		c.Username = u.User.Username()
		pass, ok := u.User.Password()
		if c.Username == "" || !ok || pass == "" {
			return bad("credentials need both a user and a password: user:pass@host")
		}
		c.Password = pass
	}
	return c, nil
}
