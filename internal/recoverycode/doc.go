// Package recoverycode makes and checks the single-use recovery codes that
// stand in for a lost second factor.
//
// A set is Count codes of 10 random base32 characters (50 bits each),
// shown once as "xxxxx-xxxxx" in lower case. Only keyed hashes are
// stored (HMAC-SHA-256 under a key derived from the key-encryption key,
// over the user id and the code). A fast hash is enough, unlike for
// passwords: with 50 random bits per code a guess costs 2^49 tries on
// average, and without the KEK even that search cannot start from a copy
// of the database. A password hash (Argon2id) would add nothing but cost:
// a code is checked against every unused code of the user, so ten
// Argon2id runs per attempt would make the endpoint a denial-of-service
// lever.
//
// Single use is the store's job: the caller consumes the matching hash
// with an atomic store operation (store.RecoveryCodeStore.UseRecoveryCode),
// so two concurrent uses of one code cannot both succeed. That lookup by
// hash is not constant-time (a database index), and need not be: without
// the key nobody can choose inputs whose hashes approach a stored one, so
// the timing tells nothing. Hasher.Match is the constant-time check for a
// caller that holds the list of hashes instead.
package recoverycode
