// Package identity owns user accounts: signup, password login, and the
// administrative operations on users. It normalises email addresses,
// enforces the password policy (NIST SP 800-63B: length only), hashes
// with Argon2id, answers unknown emails and wrong passwords identically
// and in the same time, and limits failed logins per account and per
// client address.
package identity
