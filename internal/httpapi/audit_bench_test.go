package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/password"
)

// BenchmarkLoginAuditTrail measures the login path through the fully
// wired server (SQLite) with the audit trail on and off, in the same run:
// a successful session login (one event besides the new session record)
// and a wrong password (one event where there was no write at all), each
// with the default Argon2id parameters (argon2id, the real cost) and with
// apptest's cheap hash (cheap), which shows the trail's own cost without
// the hash that dominates a real login. Logs go to a JSON handler on io.Discard in
// both, so the trail's log line is counted. The login limits are off,
// so that the wrong passwords are not refused early. See
// docs/benchmark-notes.md:
//
//	go test -run '^$' -bench LoginAuditTrail -benchmem -count 5 ./internal/httpapi/
func BenchmarkLoginAuditTrail(b *testing.B) {
	type trail struct {
		name   string
		off    bool
		params password.Params
	}
	for _, trail := range []trail{
		{"argon2id/trail_on", false, password.DefaultParams()}, {"argon2id/trail_off", true, password.DefaultParams()},
		{"cheap/trail_on", false, apptest.CheapPasswordParams}, {"cheap/trail_off", true, apptest.CheapPasswordParams},
	} {
		srv := apptest.Start(b, apptest.Options{
			Args:                 []string{"--login-limit-account", "0/1m", "--login-limit-ip", "0/1m"},
			Log:                  slog.New(slog.NewJSONHandler(io.Discard, nil)),
			PasswordParams:       trail.params,
			InsecureNoAuditTrail: trail.off,
		})
		h := srv.Handler()
		u := srv.NewUser(b)
		for _, c := range []struct {
			name   string
			pw     string
			status int
		}{{"ok", u.Password, http.StatusOK}, {"wrong_password", "not the password", http.StatusUnauthorized}} {
			body, err := json.Marshal(map[string]string{"email": u.Email, "password": c.pw})
			if err != nil {
				b.Fatal(err)
			}
			b.Run(c.name+"/"+trail.name, func(b *testing.B) {
				tmpl := httptest.NewRequest(http.MethodPost, "/v1/login", nil)
				tmpl.Header.Set("Content-Type", "application/json")
				tmpl.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/140.0")
				serveLoop(b, h, tmpl, body, c.status)
			})
		}
	}
}
