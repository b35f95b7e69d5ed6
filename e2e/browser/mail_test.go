package browser

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// mailLink waits for a mail to to in the server's dev mailbox
// (<data-dir>/mail/*.eml, written when no --smtp-url is given) that
// g.seen has not returned yet and whose plain-text part links to
// <issuer><path>?token=, and returns that link. It reads the mail as a
// mail client would: MIME parts, transfer encoding undone.
func (g *gatehouse) mailLink(t *testing.T, to, path string) string {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(g.URL+path) + `\?token=[A-Za-z0-9_-]+`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(g.DataDir, "mail", "*.eml"))
		slices.Sort(files) // the names sort by the time the mail was written
		for _, f := range files {
			if g.seen[f] {
				continue
			}
			rcpt, text, err := readMail(f)
			if err != nil {
				t.Fatalf("mail %s: %v", f, err)
			}
			if !strings.EqualFold(rcpt, to) {
				continue
			}
			links := re.FindAllString(text, -1)
			if len(links) == 0 {
				continue
			}
			if len(links) != 1 {
				t.Fatalf("mail %s has %d links to %s in its text part, want one:\n%s", f, len(links), path, text)
			}
			g.seen[f] = true
			return links[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new mail to %s with a link to %s in %s within 20 s (files: %q)\ngatehouse log:\n%s", to, path, filepath.Join(g.DataDir, "mail"), files, g.log)
		}
		waitABit()
	}
}

// readMail returns the recipient and the decoded plain-text part of the
// mail in file.
func readMail(file string) (to, text string, err error) {
	f, err := os.Open(file)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	msg, err := netmail.ReadMessage(f)
	if err != nil {
		return "", "", err
	}
	addr, err := netmail.ParseAddress(msg.Header.Get("To"))
	if err != nil {
		return "", "", fmt.Errorf("To: %w", err)
	}
	text, err = plainText(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return addr.Address, text, err
}

// plainText finds the text/plain part of a body with the given type,
// descending into multipart bodies; multipart.Reader undoes
// quoted-printable itself (and drops the part's Content-Transfer-Encoding
// then), the top level needs it done here.
func plainText(contentType, encoding string, body io.Reader) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("Content-Type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return "", errors.New("no text/plain part")
			}
			if err != nil {
				return "", err
			}
			if s, err := plainText(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err == nil {
				return s, nil
			}
		}
	}
	if mt != "text/plain" {
		return "", fmt.Errorf("a %s part", mt)
	}
	switch strings.ToLower(encoding) {
	case "", "7bit", "8bit":
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	default:
		return "", fmt.Errorf("text part in %s", encoding)
	}
	b, err := io.ReadAll(body)
	return string(b), err
}

// verifyEmail confirms email's address with the link of the verification
// mail signup sent, at the API.
func (g *gatehouse) verifyEmail(t *testing.T, email string) {
	t.Helper()
	link := g.mailLink(t, email, "/verify")
	_, tok, _ := strings.Cut(link, "?token=")
	var out struct {
		User struct {
			EmailVerified bool `json:"email_verified"`
		} `json:"user"`
	}
	g.call(t, "POST", "/v1/verification/email/confirm", "", map[string]string{"token": tok}, &out, 200)
	if !out.User.EmailVerified {
		t.Fatalf("%s: the confirmation answered email_verified false", email)
	}
}
