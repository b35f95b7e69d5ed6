package mail

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const testSecret = "tok_0123456789abcdefABCDEF-_"

func loadTestTemplates(t *testing.T, dir string) *Templates {
	t.Helper()
	tpl, err := LoadTemplates(TemplateConfig{Dir: dir, ProductName: "Acme ID", Issuer: "https://id.example.com/"})
	if err != nil {
		t.Fatalf("LoadTemplates: %v", err)
	}
	return tpl
}

// linkRE finds every URL in a text part.
var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

func TestRenderEveryKind(t *testing.T) {
	tpl := loadTestTemplates(t, "")
	tests := []struct {
		kind     Kind
		data     Data
		wantLink string // the one link with a token; "" for a notice
		wantText []string
	}{
		{kind: KindVerifyEmail, data: Data{Email: "alice@example.com", Secret: testSecret, ExpiresIn: 24 * time.Hour},
			wantLink: "https://id.example.com/verify?token=" + testSecret, wantText: []string{"alice@example.com", "24 hours", "Acme ID"}},
		{kind: KindRecoverPassword, data: Data{Email: "alice@example.com", Secret: testSecret, ExpiresIn: time.Hour},
			wantLink: "https://id.example.com/recover?token=" + testSecret, wantText: []string{"1 hour", "Acme ID"}},
		{kind: KindEmailChanged, data: Data{Email: "old@example.com", NewEmail: "new@example.com"},
			wantText: []string{"old@example.com", "new@example.com"}},
		{kind: KindPasswordChanged, data: Data{Email: "alice@example.com"}, wantText: []string{"alice@example.com"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			m, err := tpl.Render(tt.kind, tt.data.Email, tt.data)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if m.Kind != tt.kind || m.To != tt.data.Email || len(m.ID) != 32 || m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") {
				t.Fatalf("message header fields: %+v", m)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(m.Text, w) || !strings.Contains(m.HTML, w) {
					t.Errorf("text or HTML part lacks %q", w)
				}
			}
			var tokenLinks []string
			for _, l := range linkRE.FindAllString(m.Text, -1) {
				if strings.Contains(l, "token=") {
					tokenLinks = append(tokenLinks, l)
				}
			}
			if tt.wantLink == "" {
				if len(tokenLinks) != 0 {
					t.Fatalf("a notice carries token links %q", tokenLinks)
				}
				return
			}
			if len(tokenLinks) != 1 || tokenLinks[0] != tt.wantLink {
				t.Fatalf("text part token links = %q, want exactly [%q]", tokenLinks, tt.wantLink)
			}
			if strings.Count(m.Text, testSecret) != 1 {
				t.Errorf("the secret shows %d times in the text part", strings.Count(m.Text, testSecret))
			}
			if !strings.Contains(m.HTML, `href="`+tt.wantLink+`"`) {
				t.Errorf("HTML part lacks the link %q:\n%s", tt.wantLink, m.HTML)
			}
			if strings.Contains(m.Subject, testSecret) {
				t.Errorf("subject shows the secret")
			}
		})
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	tpl := loadTestTemplates(t, "")
	m, err := tpl.Render(KindEmailChanged, "a@example.com", Data{Email: "a@example.com", NewEmail: `"><script>x</script>@example.com`})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<script>") {
		t.Fatalf("HTML part not escaped:\n%s", m.HTML)
	}
}

func TestRenderRefusesBadData(t *testing.T) {
	tpl := loadTestTemplates(t, "")
	tests := []struct {
		name string
		kind Kind
		data Data
	}{
		{"verify without secret", KindVerifyEmail, Data{Email: "a@example.com"}},
		{"short secret", KindRecoverPassword, Data{Email: "a@example.com", Secret: "abc"}},
		{"secret with query characters", KindRecoverPassword, Data{Email: "a@example.com", Secret: testSecret + "&x=1"}},
		{"notice with secret", KindPasswordChanged, Data{Email: "a@example.com", Secret: testSecret}},
		{"unknown kind", Kind("welcome"), Data{Email: "a@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m, err := tpl.Render(tt.kind, "a@example.com", tt.data); err == nil {
				t.Fatalf("Render = %+v, want an error", m)
			}
		})
	}
}

func TestTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "verify_email.txt.tmpl", "Welcome to {{.ProductName}}! Click {{.Link}}\n")
	write(t, dir, "password_changed.subject.tmpl", "Heads up\n")
	tpl := loadTestTemplates(t, dir)
	m, err := tpl.Render(KindVerifyEmail, "a@example.com", Data{Email: "a@example.com", Secret: testSecret, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Welcome to Acme ID! Click https://id.example.com/verify?token=" + testSecret + "\n"; m.Text != want {
		t.Errorf("text = %q, want %q", m.Text, want)
	}
	if !strings.Contains(m.HTML, "Confirm my email address") {
		t.Errorf("the HTML part is not the embedded default")
	}
	m, err = tpl.Render(KindPasswordChanged, "a@example.com", Data{Email: "a@example.com"})
	if err != nil || m.Subject != "Heads up" {
		t.Errorf("subject = %q, %v", m.Subject, err)
	}
}

func TestBadTemplatesFailAtLoad(t *testing.T) {
	tests := []struct {
		name, file, body, wantErr string
	}{
		{"parse error", "verify_email.txt.tmpl", "{{.Link", "template"},
		{"unknown field", "password_changed.html.tmpl", "<p>{{.Nope}}</p>", "Nope"},
		{"no link", "verify_email.txt.tmpl", "Hello {{.Email}}", "0 times"},
		{"link twice", "recover_password.txt.tmpl", "{{.Link}}\n{{.Link}}", "2 times"},
		{"secret in subject", "recover_password.subject.tmpl", "Reset {{.Link}}", "subject"},
		{"empty subject", "email_changed.subject.tmpl", "  \n", "subject is empty"},
		{"unknown file name", "verify.txt.tmpl", "x", "replaces no template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, tt.file, tt.body)
			_, err := LoadTemplates(TemplateConfig{Dir: dir, ProductName: "Acme", Issuer: "https://id.example.com"})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("LoadTemplates error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := LoadTemplates(TemplateConfig{Dir: filepath.Join(t.TempDir(), "missing"), ProductName: "A", Issuer: "https://x"}); err == nil {
		t.Error("a missing directory loaded")
	}
	if _, err := LoadTemplates(TemplateConfig{ProductName: "A", Issuer: "x"}); err == nil {
		t.Error("a bad issuer loaded")
	}
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
