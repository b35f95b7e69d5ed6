package app_test

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/app"
	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// TestQueuedMailIsSentAfterARestart: a mail queued by a server that
// stops before its worker runs (a crash right after the API's 202) is
// delivered by the next server on the same database, once, to the dev
// mailbox in <data-dir>/mail.
func TestQueuedMailIsSentAfterARestart(t *testing.T) {
	cfg, err := config.Parse([]string{"--data-dir", t.TempDir(), "--metrics-addr", "off"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	first, err := app.New(t.Context(), cfg, app.Options{PasswordParams: apptest.CheapPasswordParams})
	if err != nil {
		t.Fatal(err)
	}
	secret := "QueuedBeforeTheCrash0123456789"
	m, err := first.MailTemplates.Render(mail.KindRecoverPassword, "alice@example.com", mail.Data{Email: "alice@example.com", Secret: secret, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.MailQueue.Enqueue(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	first.Close() // never served: its worker never ran

	second, err := app.New(t.Context(), cfg, app.Options{PasswordParams: apptest.CheapPasswordParams})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- second.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		second.Close()
	})
	var files []os.DirEntry
	for deadline := time.Now().Add(10 * time.Second); len(files) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		files, _ = os.ReadDir(cfg.MailDir())
	}
	if len(files) != 1 || !strings.HasSuffix(files[0].Name(), "-"+m.ID+".eml") {
		t.Fatalf("dev mailbox holds %v, want the one queued mail", files)
	}
	raw, err := os.ReadFile(cfg.MailDir() + "/" + files[0].Name())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "/recover?token=") || !strings.Contains(string(raw), "To: <alice@example.com>") {
		t.Errorf("the delivered mail lacks its recipient or link:\n%s", raw)
	}
	time.Sleep(200 * time.Millisecond) // room for a second delivery to show
	if files, _ := os.ReadDir(cfg.MailDir()); len(files) != 1 {
		t.Errorf("dev mailbox holds %d files, want 1", len(files))
	}
}

// TestBadMailTemplatesStopStartUp: an override that breaks a template
// fails app.New, not the first send.
func TestBadMailTemplatesStopStartUp(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]string{"--data-dir", t.TempDir()}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/verify_email.txt.tmpl", []byte("{{.Link}} {{.Link}}"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.MailTemplates = dir // past config's own check, as a file changed after parsing
	if a, err := app.New(t.Context(), cfg, app.Options{PasswordParams: apptest.CheapPasswordParams}); err == nil {
		a.Close()
		t.Fatal("app.New accepted a template that shows the link twice")
	}
}
