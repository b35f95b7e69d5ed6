// Package keys manages the server's token-signing keys: generation on
// first start, encryption at rest under the key-encryption key (KEK),
// rotation by the admin API or on a schedule, and the JWKS that lists the
// current key and every retired key whose tokens may still be valid.
package keys
