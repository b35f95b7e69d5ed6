// Package audit defines the security events of Gatehouse's audit trail:
// who did what to which account, session or client, from where.
//
// An Event is a value; the store (store.EventStore) assigns its Seq and
// keeps it, in the SQL database on every deployment (also when sessions
// live in Redis). Domain services build events and write them, where the
// store allows it, in the same transaction as the change they describe;
// a Recorder fills in the request's actor, address and user agent,
// appends events on their own when there is no such transaction, and
// writes every event to the structured log.
//
// Tailing consumers (webhooks, back-channel logout) read the log in Seq
// order with store.EventStore.EventsAfter; the store guarantees that
// events become visible in Seq order, so a tailer that moves its cursor
// to the last Seq it read misses nothing.
//
// An event never carries a password, token, secret or code: Detail holds
// reasons and identifiers only.
package audit
