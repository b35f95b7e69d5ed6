// Package outbox runs durable queues: a Worker claims due items from a
// store under a lease, hands each to a delivery function, and records
// the outcome, retrying failures with exponential backoff and jitter
// until an item is delivered or has used up its attempts (dead).
//
// The mail outbox (package mail) and the webhook and back-channel logout
// deliveries (package webhook) run on it; each brings its own store
// methods and delivery, and the claim, lease, backoff and sweep rules
// live here once.
package outbox
