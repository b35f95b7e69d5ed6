package apptest

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Mail is a mail the server delivered to its development mailbox.
type Mail struct {
	// To is the recipient, Subject the subject.
	To, Subject string
	// Text is the decoded plain-text part.
	Text string
	// Link is the one link <issuer>/<path>?token=<secret> of a mail that
	// carries a secret, and Path and Token its parts; empty otherwise.
	Link, Path, Token string
	// File is the .eml file's name.
	File string
}

// linkPattern finds a lifecycle link in a mail's text part.
var linkPattern = regexp.MustCompile(`https?://[^\s/]+/(verify|recover)\?token=([A-Za-z0-9_-]+)`)

// DeliverMail runs the server's mail worker once, so that every mail
// queued so far is delivered (to the development mailbox, unless the
// server has --smtp-url), and returns how many it sent.
func (s *Server) DeliverMail(t testing.TB) int {
	t.Helper()
	n, err := s.App.DeliverMail(t.Context())
	if err != nil {
		t.Fatalf("apptest: mail worker: %v", err)
	}
	return n
}

// Mailbox delivers the queued mails (DeliverMail) and returns every mail
// of the development mailbox sent to to, oldest first.
func (s *Server) Mailbox(t testing.TB, to string) []Mail {
	t.Helper()
	s.DeliverMail(t)
	files, err := filepath.Glob(filepath.Join(s.App.Config.MailDir(), "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	var out []Mail
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := ParseMail(t, raw)
		m.File = filepath.Base(f)
		if strings.EqualFold(m.To, to) {
			out = append(out, m)
		}
	}
	return out
}

// LastMail returns the newest mail sent to to, failing the test if there
// is none.
func (s *Server) LastMail(t testing.TB, to string) Mail {
	t.Helper()
	ms := s.Mailbox(t, to)
	if len(ms) == 0 {
		t.Fatalf("apptest: no mail to %s", to)
	}
	return ms[len(ms)-1]
}

// ParseMail decodes a MIME message as the server sends it: its To,
// Subject and plain-text part, and the link of that part.
func ParseMail(t testing.TB, raw []byte) Mail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("apptest: parse mail: %v", err)
	}
	var m Mail
	if to, err := mail.ParseAddress(msg.Header.Get("To")); err == nil {
		m.To = to.Address
	}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("apptest: mail subject: %v", err)
	}
	m.Text = textPart(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if sm := linkPattern.FindStringSubmatch(m.Text); sm != nil {
		m.Link, m.Path, m.Token = sm[0], sm[1], sm[2]
	}
	return m
}

// textPart returns the decoded text/plain part of a body.
func textPart(t testing.TB, contentType, encoding string, body io.Reader) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("apptest: mail Content-Type %q: %v", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return ""
			}
			if err != nil {
				t.Fatalf("apptest: mail part: %v", err)
			}
			if s := textPart(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); s != "" {
				return s
			}
		}
	}
	if mt != "text/plain" {
		return ""
	}
	if strings.EqualFold(encoding, "base64") {
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("apptest: mail text: %v", err)
	}
	return string(b)
}
