// Package e2e holds the verifier's end-to-end tests: a real Gatehouse
// server, wired in process by internal/apptest, and resource-server
// verifiers (and a third-party JOSE library) talking to it over HTTP.
// It is a separate package so that package verifier itself, and its
// unit tests, never depend on the server's internals or its database
// driver.
package e2e
