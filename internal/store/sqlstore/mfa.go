package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// This file implements store.MFAStore: TOTP factors, recovery codes,
// passkeys and WebAuthn ceremonies (migration 0008). Every single-use
// rule (a TOTP step, a recovery code, a ceremony) is one conditional
// statement, so concurrent uses on any number of instances succeed once.

var _ store.MFAStore = (*Store)(nil)

// totpColumns lists the totp_factors columns in the order scanTOTP reads
// them.
const totpColumns = `id, user_id, sealed_secret, confirmed, last_used_step, created_at, confirmed_at`

// scanTOTP reads one row of totpColumns.
func scanTOTP(r scanner) (store.TOTPFactor, error) {
	var (
		f         store.TOTPFactor
		created   int64
		confirmed sql.NullInt64
	)
	if err := r.Scan(&f.ID, &f.UserID, &f.SealedSecret, &f.Confirmed, &f.LastUsedStep, &created, &confirmed); err != nil {
		return store.TOTPFactor{}, err
	}
	f.CreatedAt = fromMillis(created)
	f.ConfirmedAt = fromNullMillis(confirmed)
	return f, nil
}

// PutTOTPFactor stores f as its user's factor, replacing an unconfirmed
// one, with one upsert that changes no row over a confirmed factor
// (store.ErrConflict).
func (s *Store) PutTOTPFactor(ctx context.Context, f store.TOTPFactor) error {
	const op = "put totp factor"
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO totp_factors (`+totpColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET
			id = excluded.id, sealed_secret = excluded.sealed_secret, confirmed = excluded.confirmed,
			last_used_step = excluded.last_used_step, created_at = excluded.created_at,
			confirmed_at = excluded.confirmed_at
		WHERE NOT totp_factors.confirmed`,
		f.ID, f.UserID, blob(f.SealedSecret), f.Confirmed, f.LastUsedStep, millis(f.CreatedAt), nullMillis(f.ConfirmedAt))
	n, err := s.affected(op, res, err)
	if err != nil {
		return err
	}
	if n == 0 {
		return s.errorf(op+": a confirmed factor exists", store.ErrConflict)
	}
	return nil
}

// GetTOTPFactor returns the user's factor, or store.ErrNotFound.
func (s *Store) GetTOTPFactor(ctx context.Context, userID string) (store.TOTPFactor, error) {
	f, err := scanTOTP(s.db.QueryRowContext(ctx,
		`SELECT `+totpColumns+` FROM totp_factors WHERE user_id = ?`, userID))
	if err != nil {
		return store.TOTPFactor{}, s.wrapErr("get totp factor", err)
	}
	return f, nil
}

// ConfirmTOTPFactor marks the user's unconfirmed factor factorID
// confirmed, with one conditional UPDATE.
func (s *Store) ConfirmTOTPFactor(ctx context.Context, userID, factorID string, step int64, now time.Time) error {
	const op = "confirm totp factor"
	res, err := s.db.ExecContext(ctx,
		`UPDATE totp_factors SET confirmed = TRUE, confirmed_at = ?, last_used_step = ?
		WHERE user_id = ? AND id = ? AND NOT confirmed`,
		millis(now), step, userID, factorID)
	n, err := s.affected(op, res, err)
	if err != nil || n == 1 {
		return err
	}
	exists, err := s.totpExists(ctx, op, userID, factorID)
	if err != nil {
		return err
	}
	if !exists {
		return s.errorf(op, store.ErrNotFound)
	}
	return s.errorf(op+": already confirmed", store.ErrConflict)
}

// AdvanceTOTPStep moves the last used step of the user's confirmed factor
// factorID forward to step with one conditional UPDATE, so of concurrent
// calls with one step exactly one changes the row.
func (s *Store) AdvanceTOTPStep(ctx context.Context, userID, factorID string, step int64) (bool, error) {
	const op = "advance totp step"
	res, err := s.db.ExecContext(ctx,
		`UPDATE totp_factors SET last_used_step = ?
		WHERE user_id = ? AND id = ? AND confirmed AND last_used_step < ?`,
		step, userID, factorID, step)
	n, err := s.affected(op, res, err)
	if err != nil || n == 1 {
		return n == 1, err
	}
	var exists bool
	err = s.db.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM totp_factors WHERE user_id = ? AND id = ? AND confirmed)`,
		userID, factorID).Scan(&exists)
	switch {
	case err != nil:
		return false, s.wrapErr(op, err)
	case !exists:
		return false, s.errorf(op, store.ErrNotFound)
	}
	return false, nil
}

// totpExists reports whether the user has a factor factorID.
func (s *Store) totpExists(ctx context.Context, op, userID, factorID string) (bool, error) {
	var exists bool
	err := s.db.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM totp_factors WHERE user_id = ? AND id = ?)`, userID, factorID).Scan(&exists)
	if err != nil {
		return false, s.wrapErr(op, err)
	}
	return exists, nil
}

// DeleteTOTPFactor removes the user's factor, or returns store.ErrNotFound.
func (s *Store) DeleteTOTPFactor(ctx context.Context, userID string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM totp_factors WHERE user_id = ?`, userID)
	return s.checkAffected("delete totp factor", res, err)
}

// ReplaceRecoveryCodes replaces the user's codes with hashes in one
// transaction. On PostgreSQL a transaction-scoped advisory lock on the
// user serialises concurrent replacements (the user may have no row to
// lock); SQLite's IMMEDIATE transaction does already.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error {
	const op = "replace recovery codes"
	return s.inTx(ctx, op, func(tx db) error {
		if s.f.lockTables {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('recovery_codes:' || ?::text, 0))`, userID); err != nil {
				return s.wrapErr(op, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return s.wrapErr(op, err)
		}
		for i, h := range hashes {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO recovery_codes (user_id, position, hash, used_at) VALUES (?, ?, ?, NULL)`,
				userID, i, blob(h)); err != nil {
				return s.wrapErr(op, err)
			}
		}
		return nil
	})
}

// ListRecoveryCodes returns the user's codes in the order they were set.
func (s *Store) ListRecoveryCodes(ctx context.Context, userID string) ([]store.RecoveryCode, error) {
	const op = "list recovery codes"
	rows, err := s.db.QueryContext(ctx,
		`SELECT hash, used_at FROM recovery_codes WHERE user_id = ? ORDER BY position`, userID)
	if err != nil {
		return nil, s.wrapErr(op, err)
	}
	codes, err := collect(rows, func(r scanner) (store.RecoveryCode, error) {
		var (
			c    store.RecoveryCode
			used sql.NullInt64
		)
		if err := r.Scan(&c.Hash, &used); err != nil {
			return store.RecoveryCode{}, err
		}
		c.UsedAt = fromNullMillis(used)
		return c, nil
	})
	if err != nil {
		return nil, s.wrapErr(op, err)
	}
	return codes, nil
}

// UseRecoveryCode marks the user's unused code hash used, with one
// conditional UPDATE.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) error {
	res, err := s.db.ExecContext(ctx,
		`UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL`,
		millis(now), userID, blob(hash))
	return s.checkAffected("use recovery code", res, err)
}

// passkeyColumns lists the passkeys columns in the order scanPasskey reads
// them.
const passkeyColumns = `id, user_id, name, public_key, attestation_type, aaguid, sign_count,
	transports, user_verified, backup_eligible, backup_state, created_at, last_used_at`

// scanPasskey reads one row of passkeyColumns.
func (s *Store) scanPasskey(r scanner) (store.PasskeyCredential, error) {
	var (
		c              store.PasskeyCredential
		count, created int64
		used           sql.NullInt64
	)
	err := r.Scan(&c.ID, &c.UserID, &c.Name, &c.PublicKey, &c.AttestationType, &c.AAGUID, &count,
		s.f.listDest(&c.Transports), &c.UserVerified, &c.BackupEligible, &c.BackupState, &created, &used)
	if err != nil {
		return store.PasskeyCredential{}, err
	}
	c.SignCount = uint32(count) // written from a uint32
	c.CreatedAt = fromMillis(created)
	c.LastUsedAt = fromNullMillis(used)
	return c, nil
}

// CreatePasskey stores a new credential; store.ErrConflict if its id
// exists.
func (s *Store) CreatePasskey(ctx context.Context, c store.PasskeyCredential) error {
	const op = "create passkey"
	transports, err := s.f.listArg(c.Transports)
	if err != nil {
		return s.errorf(op, err)
	}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO passkeys (`+passkeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		blob(c.ID), c.UserID, c.Name, blob(c.PublicKey), c.AttestationType, blob(c.AAGUID), int64(c.SignCount),
		transports, c.UserVerified, c.BackupEligible, c.BackupState, millis(c.CreatedAt), nullMillis(c.LastUsedAt))
	if err != nil {
		return s.wrapErr(op, err)
	}
	return nil
}

// GetPasskey returns the credential id, or store.ErrNotFound.
func (s *Store) GetPasskey(ctx context.Context, id []byte) (store.PasskeyCredential, error) {
	c, err := s.scanPasskey(s.db.QueryRowContext(ctx,
		`SELECT `+passkeyColumns+` FROM passkeys WHERE id = ?`, blob(id)))
	if err != nil {
		return store.PasskeyCredential{}, s.wrapErr("get passkey", err)
	}
	return c, nil
}

// ListPasskeys returns the user's credentials, oldest first (insertion
// order among equal times).
func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]store.PasskeyCredential, error) {
	const op = "list passkeys"
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = ? ORDER BY created_at, seq`, userID)
	if err != nil {
		return nil, s.wrapErr(op, err)
	}
	cs, err := collect(rows, s.scanPasskey)
	if err != nil {
		return nil, s.wrapErr(op, err)
	}
	return cs, nil
}

// UpdatePasskey reads the credential, applies update and writes the result
// back in one transaction (the row locked on PostgreSQL, the database's
// write lock held on SQLite), so a use's counter check sees the counter
// it replaces.
func (s *Store) UpdatePasskey(ctx context.Context, id []byte, update func(store.PasskeyCredential) (store.PasskeyCredential, error)) (store.PasskeyCredential, error) {
	const op = "update passkey"
	var out store.PasskeyCredential
	err := s.inTx(ctx, op, func(tx db) error {
		old, err := s.scanPasskey(tx.QueryRowContext(ctx,
			`SELECT `+passkeyColumns+` FROM passkeys WHERE id = ?`+s.f.forUpdate, blob(id)))
		if err != nil {
			return s.wrapErr(op, err)
		}
		c, err := update(old)
		if err != nil {
			return err
		}
		transports, err := s.f.listArg(c.Transports)
		if err != nil {
			return s.errorf(op, err)
		}
		out, err = s.scanPasskey(tx.QueryRowContext(ctx,
			`UPDATE passkeys SET name = ?, attestation_type = ?, aaguid = ?, sign_count = ?, transports = ?,
				user_verified = ?, backup_eligible = ?, backup_state = ?, last_used_at = ?
			WHERE id = ?
			RETURNING `+passkeyColumns,
			c.Name, c.AttestationType, blob(c.AAGUID), int64(c.SignCount), transports,
			c.UserVerified, c.BackupEligible, c.BackupState, nullMillis(c.LastUsedAt), blob(id)))
		if err != nil {
			return s.wrapErr(op, err)
		}
		return nil
	})
	if err != nil {
		return store.PasskeyCredential{}, err
	}
	return out, nil
}

// DeletePasskey removes the user's credential id, or returns
// store.ErrNotFound (also when another user owns it).
func (s *Store) DeletePasskey(ctx context.Context, userID string, id []byte) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM passkeys WHERE user_id = ? AND id = ?`, userID, blob(id))
	return s.checkAffected("delete passkey", res, err)
}

// CreateCeremony stores c; store.ErrConflict if its id exists.
func (s *Store) CreateCeremony(ctx context.Context, c store.Ceremony) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO webauthn_ceremonies (id, kind, user_id, data, expires_at) VALUES (?, ?, ?, ?, ?)`,
		c.ID, string(c.Kind), c.UserID, blob(c.Data), millis(c.ExpiresAt))
	if err != nil {
		return s.wrapErr("create ceremony", err)
	}
	return nil
}

// TakeCeremony removes and returns the ceremony id with one DELETE …
// RETURNING, so of concurrent takes at most one gets the row; an expired
// one is removed and reported as store.ErrNotFound.
func (s *Store) TakeCeremony(ctx context.Context, id string, now time.Time) (store.Ceremony, error) {
	const op = "take ceremony"
	var (
		c       store.Ceremony
		kind    string
		expires int64
	)
	err := s.db.QueryRowContext(ctx,
		`DELETE FROM webauthn_ceremonies WHERE id = ? RETURNING id, kind, user_id, data, expires_at`, id).
		Scan(&c.ID, &kind, &c.UserID, &c.Data, &expires)
	if err != nil {
		return store.Ceremony{}, s.wrapErr(op, err)
	}
	c.Kind = store.CeremonyKind(kind)
	c.ExpiresAt = fromMillis(expires)
	if !c.ExpiresAt.After(now) {
		return store.Ceremony{}, s.errorf(op+": expired", store.ErrNotFound)
	}
	return c, nil
}

// DeleteExpiredCeremonies removes the ceremonies expired at now and returns
// how many.
func (s *Store) DeleteExpiredCeremonies(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM webauthn_ceremonies WHERE expires_at <= ?`, millis(now))
	return s.affected("delete expired ceremonies", res, err)
}
