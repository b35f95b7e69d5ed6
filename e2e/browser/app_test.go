package browser

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"testing"
)

// sessionApp is a single-page app on the same site as Gatehouse (another
// port of 127.0.0.1, as app.example.com is to auth.example.com), listed in
// --trusted-origins. It uses the browser's Gatehouse cookie session with
// fetch: it gets a CSRF token from GET /v1/session, writes session data
// with and without the X-CSRF-Token header, reads it back, and reads
// /v1/me. The script leaves its findings in window.result.
func newSessionApp(t *testing.T, issuer *string) *httptest.Server {
	page := template.Must(template.New("app").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Shop</title></head>
<body><h1>Shop</h1><p id="status">Loading…</p>
<script>
const gatehouse = {{.}};
const opts = (method, headers, body) => ({method, credentials: "include", headers, body});
async function run() {
  const out = {};
  let r = await fetch(gatehouse + "/v1/session", opts("GET"));
  out.session = r.status;
  if (r.status !== 200) { return out; }
  const csrf = (await r.json()).csrf_token;
  const cart = JSON.stringify({cart: ["The Go Programming Language"]});
  r = await fetch(gatehouse + "/v1/session/data", opts("PUT", {"Content-Type": "application/json"}, cart));
  out.putWithoutToken = r.status;
  r = await fetch(gatehouse + "/v1/session/data", opts("PUT", {"Content-Type": "application/json", "X-CSRF-Token": csrf}, cart));
  out.put = r.status;
  r = await fetch(gatehouse + "/v1/session/data", opts("GET"));
  out.data = await r.json();
  r = await fetch(gatehouse + "/v1/me", opts("GET"));
  out.email = (await r.json()).user.email;
  return out;
}
run().then(out => {
  window.result = out;
  document.getElementById("status").textContent = out.email ? "Signed in as " + out.email + "; cart: " + out.data.cart.join(", ") : "Not signed in (" + out.session + ")";
}, err => { window.result = {error: String(err)}; document.getElementById("status").textContent = "Error: " + err; });
</script>
</body></html>`))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, *issuer)
	}))
	t.Cleanup(srv.Close)
	return srv
}
