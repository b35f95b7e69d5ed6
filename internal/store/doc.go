// Package store defines Gatehouse's persistent records and the
// backend-neutral interfaces that hold them.
//
// Every concern has its own small interface (users, session records, …),
// with ctx first and plain values in and out: no SQL or Redis types leak
// through. Each interface's doc comment fixes its contract, in particular
// what "not found" means, and the conformance suites in package storetest
// enforce it on every backend. Domain packages depend on these interfaces
// only; the command that starts the server opens connections and chooses
// the backends.
//
// Backends keep timestamps to at least millisecond precision and return
// them in UTC.
package store
