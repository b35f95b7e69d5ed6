// Package bench compares Gatehouse's verifier with other Go JWT
// libraries (golang-jwt/jwt v5, lestrrat-go/jwx v3) and with the bare
// standard-library signature check, on the same access tokens.
//
// It is a module of its own so that the peers it measures stay out of
// the server's go.mod; it uses the server's packages through a replace
// directive. Run it with
//
//	cd bench && go test -run '^$' -bench . -benchtime 2000x
//
// and see the "JWT verification" section of docs/benchmark-notes.md. The
// command in cmd/ghbench runs the whole JWT-versus-sessions suite end to
// end and writes docs/benchmarks.md:
//
//	cd bench && go run ./cmd/ghbench [-quick]
package bench
