package mail

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	htmltemplate "github.com/DataDog/datadog-agent/pkg/template/html"
	texttemplate "github.com/DataDog/datadog-agent/pkg/template/text"
)

// Kind names a mail and its templates.
type Kind string

// The mails of the account lifecycle. Each has three templates, named
// after it: <kind>.subject.tmpl and <kind>.txt.tmpl (text/template) and
// <kind>.html.tmpl (html/template), run by DataDog's copy of those
// packages, which calls no method from a template (docs/decisions.md).
const (
	// KindVerifyEmail carries a link to /verify?token=<secret>.
	KindVerifyEmail Kind = "verify_email"
	// KindRecoverPassword carries a link to /recover?token=<secret>.
	KindRecoverPassword Kind = "recover_password"
	// KindEmailChanged tells the old address that the account's address
	// changed (Data.Email is the old address, Data.NewEmail the new one).
	KindEmailChanged Kind = "email_changed"
	// KindPasswordChanged tells the account's address that its password
	// changed.
	KindPasswordChanged Kind = "password_changed"
)

// Kinds lists every kind, in a fixed order.
func Kinds() []Kind {
	return []Kind{KindVerifyEmail, KindRecoverPassword, KindEmailChanged, KindPasswordChanged}
}

// LinkPath returns the issuer-relative path of the link a kind's mail
// carries with its secret ("verify", "recover"), and false for a notice
// that carries no secret.
func (k Kind) LinkPath() (string, bool) {
	switch k {
	case KindVerifyEmail:
		return "verify", true
	case KindRecoverPassword:
		return "recover", true
	}
	return "", false
}

// templateParts are the file suffixes of a kind's templates.
var templateParts = [...]string{".subject.tmpl", ".txt.tmpl", ".html.tmpl"}

//go:embed templates/*.tmpl
var defaultTemplates embed.FS

// TemplateConfig configures LoadTemplates.
type TemplateConfig struct {
	// Dir (--mail-templates, default none) holds operator overrides: a
	// file there named as an embedded template (verify_email.txt.tmpl…)
	// replaces it. Any other file there is an error, so that a misspelt
	// name does not silently leave the default in place.
	Dir string
	// ProductName (--product-name, default "Gatehouse") names the
	// service in every mail.
	ProductName string
	// Issuer is the server's public base URL; links are
	// <Issuer>/<path>?token=<secret>.
	Issuer string
}

// Templates renders the mails. It is safe for concurrent use.
type Templates struct {
	product, issuer string
	kinds           map[Kind]kindTemplates
}

type kindTemplates struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}

// Data is what a mail is about.
type Data struct {
	// Email is the account's address; for KindEmailChanged, the old one.
	Email string
	// NewEmail is the new address, for KindEmailChanged only.
	NewEmail string
	// Secret is the one-time token of a kind with a LinkPath: at least 22
	// characters of base64url (128 bits). Kinds without a link take none.
	Secret string
	// ExpiresIn is how long the secret lives, shown to the user.
	ExpiresIn time.Duration
}

// view is what the templates see.
type view struct {
	ProductName, Issuer, Email, NewEmail, Link, ExpiresIn string
}

// LoadTemplates parses the embedded templates and the overrides of
// cfg.Dir, then renders every kind with sample data, so that a template
// that does not parse, uses an unknown field, or (for a kind with a
// secret) does not show the link exactly once in its text part fails
// here, at start-up, and never at send time.
func LoadTemplates(cfg TemplateConfig) (*Templates, error) {
	if cfg.ProductName == "" {
		return nil, errors.New("mail: templates need a product name")
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mail: templates need an http(s) issuer, got %q", cfg.Issuer)
	}
	overrides := map[string][]byte{}
	if cfg.Dir != "" {
		if overrides, err = readOverrides(cfg.Dir); err != nil {
			return nil, err
		}
	}
	t := &Templates{product: cfg.ProductName, issuer: strings.TrimRight(cfg.Issuer, "/"), kinds: map[Kind]kindTemplates{}}
	for _, k := range Kinds() {
		src := [len(templateParts)]string{}
		for i, part := range templateParts {
			name := string(k) + part
			b, ok := overrides[name]
			if !ok {
				if b, err = defaultTemplates.ReadFile("templates/" + name); err != nil {
					return nil, fmt.Errorf("mail: embedded template %s: %w", name, err)
				}
			}
			src[i] = string(b)
		}
		var kt kindTemplates
		opt := "missingkey=error"
		if kt.subject, err = texttemplate.New(string(k) + templateParts[0]).Option(opt).Parse(src[0]); err != nil {
			return nil, fmt.Errorf("mail: template: %w", err)
		}
		if kt.text, err = texttemplate.New(string(k) + templateParts[1]).Option(opt).Parse(src[1]); err != nil {
			return nil, fmt.Errorf("mail: template: %w", err)
		}
		if kt.html, err = htmltemplate.New(string(k) + templateParts[2]).Option(opt).Parse(src[2]); err != nil {
			return nil, fmt.Errorf("mail: template: %w", err)
		}
		t.kinds[k] = kt
		sample := Data{Email: "alice@example.com", NewEmail: "alice@example.org", ExpiresIn: time.Hour}
		if _, ok := k.LinkPath(); ok {
			sample.Secret = "SAMPLEsecretSAMPLEsecret0"
		}
		if _, err := t.Render(k, sample.Email, sample); err != nil {
			return nil, fmt.Errorf("mail: templates of %s (with sample data): %w", k, err)
		}
	}
	return t, nil
}

// readOverrides reads the *.tmpl files of dir, refusing names that
// replace no embedded template.
func readOverrides(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("mail: --mail-templates: %w", err)
	}
	var known []string
	for _, k := range Kinds() {
		for _, part := range templateParts {
			known = append(known, string(k)+part)
		}
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !slices.Contains(known, e.Name()) {
			return nil, fmt.Errorf("mail: --mail-templates: %s replaces no template; the names are %s", e.Name(), strings.Join(known, ", "))
		}
		b, err := fs.ReadFile(os.DirFS(dir), e.Name())
		if err != nil {
			return nil, fmt.Errorf("mail: --mail-templates: %w", err)
		}
		out[e.Name()] = b
	}
	return out, nil
}

// Render renders the mail of kind k to the address to. A kind with a
// LinkPath needs a Secret of base64url characters (at least 22, 128
// bits); others refuse one. The text part of a mail with a secret shows
// exactly one link <issuer>/<path>?token=<secret>, and the secret nowhere
// else; a template breaking that is an error.
func (t *Templates) Render(k Kind, to string, d Data) (Message, error) {
	kt, ok := t.kinds[k]
	if !ok {
		return Message{}, fmt.Errorf("mail: unknown kind %q", k)
	}
	v := view{ProductName: t.product, Issuer: t.issuer, Email: d.Email, NewEmail: d.NewEmail, ExpiresIn: humanDuration(d.ExpiresIn)}
	path, hasLink := k.LinkPath()
	switch {
	case hasLink && !validSecret(d.Secret):
		return Message{}, fmt.Errorf("mail: %s needs a secret of at least 22 base64url characters", k)
	case !hasLink && d.Secret != "":
		return Message{}, fmt.Errorf("mail: %s carries no secret", k)
	case hasLink:
		v.Link = t.issuer + "/" + path + "?token=" + d.Secret
	}
	var subject, text, html bytes.Buffer
	if err := kt.subject.Execute(&subject, v); err != nil {
		return Message{}, fmt.Errorf("mail: rendering %s: %w", k, err)
	}
	if err := kt.text.Execute(&text, v); err != nil {
		return Message{}, fmt.Errorf("mail: rendering %s: %w", k, err)
	}
	if err := kt.html.Execute(&html, v); err != nil {
		return Message{}, fmt.Errorf("mail: rendering %s: %w", k, err)
	}
	m := Message{ID: NewMessageID(), Kind: k, To: to, Subject: strings.Join(strings.Fields(subject.String()), " "), Text: text.String(), HTML: html.String()}
	if m.Subject == "" {
		return Message{}, fmt.Errorf("mail: %s: the subject is empty", k)
	}
	if strings.TrimSpace(m.Text) == "" || strings.TrimSpace(m.HTML) == "" {
		return Message{}, fmt.Errorf("mail: %s: the text or HTML part is empty", k)
	}
	if hasLink {
		if n := strings.Count(m.Text, v.Link); n != 1 {
			return Message{}, fmt.Errorf("mail: %s: the text part shows the link %d times, want exactly once ({{.Link}})", k, n)
		}
		if n := strings.Count(m.Text, d.Secret); n != 1 {
			return Message{}, fmt.Errorf("mail: %s: the text part shows the secret outside its link", k)
		}
		if strings.Contains(m.Subject, d.Secret) {
			return Message{}, fmt.Errorf("mail: %s: the subject shows the secret", k)
		}
	}
	return m, nil
}

// validSecret reports whether s looks like a one-time token: base64url,
// at least 128 bits.
func validSecret(s string) bool {
	if len(s) < 22 || len(s) > 512 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// humanDuration words d for a reader: "24 hours", "1 hour", "30 minutes".
func humanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d <= 0:
		return "a short time"
	case d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	}
	return d.Round(time.Second).String()
}

// NewMessageID returns 32 random hex digits, the id of a new mail.
func NewMessageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
