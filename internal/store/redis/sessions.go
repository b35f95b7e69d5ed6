package redisstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// CreateSession stores a new record. It returns store.ErrConflict if the id
// or the secret hash is taken; an empty SecretHash never conflicts. A nil
// Data is stored as "{}"; other Data must be valid JSON.
//
// The record and its secret hash expire in Redis at the earlier of
// ExpiresAt and IdleExpiresAt; a record already expired in Redis's own
// clock is not kept.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	args, err := s.createArgs(ss)
	if err != nil {
		return fmt.Errorf("redisstore: create session: %w", err)
	}
	res, err := createScript.Run(ctx, s.client, []string{s.recordKey(ss.ID)}, args...).Text()
	if err != nil {
		return fmt.Errorf("redisstore: create session: %w", err)
	}
	switch res {
	case "ok":
		return nil
	case "id":
		return fmt.Errorf("redisstore: create session: id taken: %w", store.ErrConflict)
	case "hash":
		return fmt.Errorf("redisstore: create session: secret hash taken: %w", store.ErrConflict)
	}
	return fmt.Errorf("redisstore: create session: unexpected reply %q", res)
}

// createArgs returns the arguments of createScript for ss, as
// CreateSession and CreateSessions pass them. It fails if ss.Data is not
// valid JSON or ss.Audience cannot be encoded.
func (s *Store) createArgs(ss store.Session) ([]any, error) {
	data, err := encodeData(ss.Data)
	if err != nil {
		return nil, err
	}
	aud, err := encodeAudience(ss.Audience)
	if err != nil {
		return nil, err
	}
	return append([]any{
		s.base, ss.ID, hex.EncodeToString(ss.SecretHash), ss.UserID, ss.ClientID,
		millis(ss.CreatedAt), millis(expiry(ss)),
	}, recordFields(ss, data, aud)...), nil
}

// GetSession returns the record with the given public id, or
// store.ErrNotFound. It is one script call, which follows a cookie
// session's id to its record.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	reply, err := getScript.Run(ctx, s.client, []string{s.recordKey(id)}, s.base, id).Result()
	if err != nil {
		return store.Session{}, fmt.Errorf("redisstore: get session: %w", err)
	}
	ss, ok, err := decodePairs(reply)
	if err != nil {
		return store.Session{}, fmt.Errorf("redisstore: get session: %w", err)
	}
	if !ok {
		return store.Session{}, fmt.Errorf("redisstore: get session: %w", store.ErrNotFound)
	}
	return ss, nil
}

// GetSessionBySecretHash returns the record whose SecretHash is hash, or
// store.ErrNotFound; an empty hash matches nothing. A cookie session's
// record is kept under its secret hash, so this is one HGETALL: the
// cookie check costs one plain command, no script.
func (s *Store) GetSessionBySecretHash(ctx context.Context, hash []byte) (store.Session, error) {
	if len(hash) == 0 {
		return store.Session{}, fmt.Errorf("redisstore: get session by secret hash: %w", store.ErrNotFound)
	}
	m, err := s.client.HGetAll(ctx, s.hashKey(hex.EncodeToString(hash))).Result()
	if err != nil {
		return store.Session{}, fmt.Errorf("redisstore: get session by secret hash: %w", err)
	}
	ss, ok, err := decodeMap(m)
	if err != nil {
		return store.Session{}, fmt.Errorf("redisstore: get session by secret hash: %w", err)
	}
	if !ok {
		return store.Session{}, fmt.Errorf("redisstore: get session by secret hash: %w", store.ErrNotFound)
	}
	return ss, nil
}

// ListUserSessions returns the user's records, oldest first; an empty,
// non-nil slice if there are none. It drops index entries whose record
// Redis has expired.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]store.Session, error) {
	ss, err := s.runList(ctx, listScript, s.userKey(userID), userID, "0", "")
	if err != nil {
		return nil, fmt.Errorf("redisstore: list user sessions: %w", err)
	}
	return ss, nil
}

// TouchSession sets the record's LastSeenAt and IdleExpiresAt, or returns
// store.ErrNotFound. The record's expiry in Redis moves with
// IdleExpiresAt (within ExpiresAt).
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen, idleExpiresAt time.Time) error {
	n, err := touchScript.Run(ctx, s.client, []string{s.recordKey(id)}, s.base, id, millis(lastSeen), millis(idleExpiresAt)).Int()
	if err != nil {
		return fmt.Errorf("redisstore: touch session: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("redisstore: touch session: %w", store.ErrNotFound)
	}
	return nil
}

// maxUpdateAttempts bounds how often UpdateSessionData computes an update
// that a concurrent write then makes stale.
const maxUpdateAttempts = 100

// UpdateSessionData reads the record's data and version, calls update, and
// stores the returned data (nil as "{}"; otherwise it must be valid JSON)
// with the version increased by one, if the version has not changed in
// the meantime: a script compares and sets. That is two round trips. When
// another write came first the script answers the current data and update
// runs again, so update may be called several times; after
// maxUpdateAttempts lost races, with a short random pause before the
// later attempts, it gives up with an error. If
// update returns an error, nothing is written and that error is returned
// as is. A missing record returns store.ErrNotFound without calling
// update.
func (s *Store) UpdateSessionData(ctx context.Context, id string, update func(data json.RawMessage, version int64) (json.RawMessage, error)) (store.Session, error) {
	keys := []string{s.recordKey(id)}
	// An empty version only reads.
	version, enc := "", ""
	for attempt := 0; ; attempt++ {
		reply, err := updateScript.Run(ctx, s.client, keys, s.base, id, version, enc).Result()
		if err != nil {
			return store.Session{}, fmt.Errorf("redisstore: update session data: %w", err)
		}
		cur, ok := reply.([]any)
		if !ok || len(cur) != 3 || cur[0] != "current" {
			// The write went through, or there is no record.
			ss, found, err := decodePairs(reply)
			if err != nil {
				return store.Session{}, fmt.Errorf("redisstore: update session data: %w", err)
			}
			if !found {
				return store.Session{}, fmt.Errorf("redisstore: update session data: %w", store.ErrNotFound)
			}
			return ss, nil
		}
		if attempt == maxUpdateAttempts {
			return store.Session{}, fmt.Errorf("redisstore: update session data: %d attempts lost to concurrent writes", attempt)
		}
		if attempt >= 3 {
			if err := pause(ctx, attempt); err != nil {
				return store.Session{}, fmt.Errorf("redisstore: update session data: %w", err)
			}
		}
		data, dok := cur[1].(string)
		version, ok = cur[2].(string)
		v, err := strconv.ParseInt(version, 10, 64)
		if !dok || !ok || err != nil {
			return store.Session{}, fmt.Errorf("redisstore: update session data: %w: data or version missing", errCorrupt)
		}
		next, err := update(json.RawMessage(data), v)
		if err != nil {
			return store.Session{}, err
		}
		if enc, err = encodeData(next); err != nil {
			return store.Session{}, fmt.Errorf("redisstore: update session data: %w", err)
		}
	}
}

// pause waits a random time that grows with attempt, up to 10ms, or until
// ctx ends.
func pause(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(min(attempt, 20)) * int64(500*time.Microsecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// DeleteSession removes the record, its secret hash and its index
// entries, or returns store.ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	n, err := deleteScript.Run(ctx, s.client, []string{s.recordKey(id)}, s.base, id).Int()
	if err != nil {
		return fmt.Errorf("redisstore: delete session: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("redisstore: delete session: %w", store.ErrNotFound)
	}
	return nil
}

// DeleteUserSessions removes every record of the user except the one whose
// id is exceptID (which may be empty), in one script, and returns the
// removed records, oldest first.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, exceptID string) ([]store.Session, error) {
	ss, err := s.runList(ctx, listScript, s.userKey(userID), userID, "1", exceptID)
	if err != nil {
		return nil, fmt.Errorf("redisstore: delete user sessions: %w", err)
	}
	return ss, nil
}

// DeleteClientSessions removes every record whose ClientID is clientID, in
// one script, and returns the removed records, oldest first. An empty
// clientID matches nothing and costs no round trip.
func (s *Store) DeleteClientSessions(ctx context.Context, clientID string) ([]store.Session, error) {
	if clientID == "" {
		return []store.Session{}, nil
	}
	ss, err := s.runList(ctx, deleteClientScript, s.clientKey(clientID), clientID)
	if err != nil {
		return nil, fmt.Errorf("redisstore: delete client sessions: %w", err)
	}
	return ss, nil
}

// runList runs a script that answers a list of records.
func (s *Store) runList(ctx context.Context, script *redis.Script, key string, args ...any) ([]store.Session, error) {
	reply, err := script.Run(ctx, s.client, []string{key}, append([]any{s.base}, args...)...).Result()
	if err != nil {
		return nil, err
	}
	return decodeList(reply)
}

// sweepBatch is how many index entries one sweep script looks at, so that
// a large backlog does not block Redis for long.
const sweepBatch = 500

// DeleteExpiredSessions removes every record that is expired at now and
// returns how many records ended: the ones it removed, and the ones Redis
// had already expired by itself (in real time) whose index entries it
// cleaned up. Called with the real time, it mostly does the latter: its
// job is to keep the expiry index (and so CountSessions) exact. It works
// in batches of sweepBatch entries, each one script; a crash between
// batches leaves the rest for the next sweep.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		res, err := sweepScript.Run(ctx, s.client, []string{s.expiryKey()}, s.base, millis(now), sweepBatch).Int64Slice()
		if err != nil {
			return total, fmt.Errorf("redisstore: delete expired sessions: %w", err)
		}
		if len(res) != 2 {
			return total, fmt.Errorf("redisstore: delete expired sessions: unexpected reply %v", res)
		}
		total += int(res[0])
		if res[1] < sweepBatch {
			return total, nil
		}
	}
}

// CountSessions returns how many records are not expired at now: one
// ZCOUNT on the expiry index, O(log n). Records that Redis has expired
// but no sweep has yet cleaned up expired before Redis's clock; they are
// counted only for a now earlier than that.
func (s *Store) CountSessions(ctx context.Context, now time.Time) (int, error) {
	n, err := s.client.ZCount(ctx, s.expiryKey(), "("+millis(now), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("redisstore: count sessions: %w", err)
	}
	return int(n), nil
}
