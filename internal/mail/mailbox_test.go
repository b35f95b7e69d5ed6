package mail

import (
	"bytes"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMailboxWritesSortableFilesAndLogsTheLink(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	var logs bytes.Buffer
	clock := time.Date(2026, 12, 6, 6, 8, 2, 123, time.UTC)
	b, err := NewMailbox(MailboxOptions{Dir: dir, From: "Acme <no-reply@id.example.com>",
		Log: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { clock = clock.Add(time.Second); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	tpl := loadTestTemplates(t, "")
	var ids []string
	for i := range 3 {
		m, err := tpl.Render(KindRecoverPassword, "alice@example.com", Data{Email: "alice@example.com", Secret: testSecret + string(rune('a'+i)), ExpiresIn: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
		if err := b.Send(t.Context(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, _ := e.Info()
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
	}
	if len(names) != 3 || !slices.IsSorted(names) {
		t.Fatalf("files %q: want 3, sorted", names)
	}
	for i, n := range names { // sorted by name is sorted by send time
		if !strings.HasSuffix(n, "-"+ids[i]+".eml") {
			t.Errorf("file %d is %s, want the mail %s", i, n, ids[i])
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", fi.Mode().Perm())
	}
	raw, err := os.ReadFile(filepath.Join(dir, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	text, html := checkMIME(t, raw, "alice@example.com")
	wantLink := "https://id.example.com/recover?token=" + testSecret + "a"
	if strings.Count(text, wantLink) != 1 || !strings.Contains(html, wantLink) {
		t.Errorf("the .eml file's parts lack the link %s", wantLink)
	}
	if !strings.Contains(logs.String(), `link="`+wantLink+`"`) {
		t.Errorf("log lacks the link:\n%s", logs.String())
	}
}

// checkMIME parses a whole mail, checks its headers, and returns its
// decoded text and HTML parts.
func checkMIME(t *testing.T, raw []byte, to string) (text, html string) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, raw)
	}
	for _, h := range []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version"} {
		if msg.Header.Get(h) == "" {
			t.Errorf("header %s missing", h)
		}
	}
	if got, err := msg.Header.AddressList("To"); err != nil || len(got) != 1 || got[0].Address != to {
		t.Errorf("To = %v (%v), want %s", got, err, to)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: want multipart/alternative", msg.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		body, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, ct)
		switch ct {
		case "text/plain":
			text = string(body)
		case "text/html":
			html = string(body)
		}
	}
	if !slices.Equal(types, []string{"text/plain", "text/html"}) {
		t.Fatalf("parts %q, want text/plain then text/html", types)
	}
	return text, html
}

func TestNewSenderChoosesBySMTPURL(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	s, desc, err := NewSender(SenderConfig{From: testFrom, MailDir: dir})
	if _, ok := s.(*Mailbox); err != nil || !ok || !strings.Contains(desc, dir) {
		t.Fatalf("without --smtp-url: %T %q %v, want the Mailbox", s, desc, err)
	}
	s, desc, err = NewSender(SenderConfig{SMTPURL: "smtps://u:hunter2@mail.example.com", From: testFrom, MailDir: dir})
	if _, ok := s.(*SMTPSender); err != nil || !ok || strings.Contains(desc, "hunter2") || desc != "smtps://u:xxxxx@mail.example.com:465" {
		t.Fatalf("with --smtp-url: %T %q %v, want the SMTP sender, password hidden", s, desc, err)
	}
	if _, _, err := NewSender(SenderConfig{SMTPURL: "smtp://:25", From: testFrom}); err == nil {
		t.Fatal("a bad --smtp-url gave a sender")
	}
	if _, _, err := NewSender(SenderConfig{From: "not an address", MailDir: dir}); err == nil {
		t.Fatal("a bad sender address gave a Mailbox")
	}
}
