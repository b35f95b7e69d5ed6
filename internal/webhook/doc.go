// Package webhook tells other systems what happened to accounts: it
// tails the audit trail (package audit, store.EventStore) and queues,
// durably, one delivery per (endpoint, event) for the webhook endpoints
// operators registered, and one OpenID Connect Back-Channel Logout 1.0
// logout token per client whose ID token named a session that ended.
//
// Webhook messages follow the Standard Webhooks specification
// (https://www.standardwebhooks.com): headers webhook-id,
// webhook-timestamp and webhook-signature ("v1,<base64 HMAC-SHA256 of
// id.timestamp.body>", with the previous secret's signature too while a
// rotated secret's grace period runs), body {type, timestamp, data}.
// Secrets are "whsec_" and base64, sealed under the key-encryption key
// in the database.
//
// Deliveries run off the request path on package outbox's worker: claims
// under a lease (so several instances deliver each message once), a
// 10-second timeout, no redirects, exponential backoff with jitter, dead
// after the last attempt, retried by hand from the admin API. A slow or
// failing receiver never slows a login: requests only append events.
package webhook
