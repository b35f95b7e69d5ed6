// Package apptest starts a fully wired Gatehouse server (app.New, the real
// router and middleware, SQLite in a temporary data directory) for tests,
// with a clock the test controls and password hashing cheap enough to run
// thousands of logins. It also gives tests a small browser-like client that
// keeps a session cookie and a CSRF token, and helpers for the steps most
// tests share: signing up, logging in, acting as the administrator.
//
// End-to-end tests of every feature (cookie sessions, tokens, OAuth) start
// their server here, so that they all exercise the same wiring the command
// runs. Timeouts are tested by advancing the Clock, never by sleeping.
package apptest
