package redisstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
//
// A record whose id starts with a route (see SessionRoute) must belong to
// a user of that route; it is kept with the user's other records, under
// the route's hash tag. A grant's route is first added to its client's
// routes (one more round trip), for DeleteClientSessions.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	args, err := s.createArgs(ss)
	if err != nil {
		return fmt.Errorf("redisstore: create session: %w", err)
	}
	if err := s.addClientRoute(ctx, ss); err != nil {
		return fmt.Errorf("redisstore: create session: %w", err)
	}
	res, err := s.write(ctx, s.scripts.create, []string{recordKey(s.baseOf(ss.ID), ss.ID)}, args...).Text()
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

// addClientRoute adds the route of a routed grant to its client's routes,
// before the grant exists, so that a DeleteClientSessions that starts
// after the grant is stored visits its route.
func (s *Store) addClientRoute(ctx context.Context, ss store.Session) error {
	r, ok := routeOfID(ss.ID)
	if !ok || ss.ClientID == "" {
		return nil
	}
	return s.scripts.clientRoutes.Run(ctx, s.client, []string{s.clientRoutesKey(ss.ClientID)}, r, millis(expiry(ss))).Err()
}

// errWrongRoute refuses a record whose id's route is not its user's.
var errWrongRoute = errors.New("the id's route is not the user's route")

// createArgs returns the arguments of the create script for ss, as
// CreateSession and CreateSessions pass them. It fails if ss.Data is not
// valid JSON, ss.Audience cannot be encoded, or ss.ID has a route that is
// not ss.UserID's.
func (s *Store) createArgs(ss store.Session) ([]any, error) {
	if r, ok := routeOfID(ss.ID); ok && r != routeOfUser(ss.UserID) {
		return nil, errWrongRoute
	}
	data, err := encodeData(ss.Data)
	if err != nil {
		return nil, err
	}
	aud, err := encodeAudience(ss.Audience)
	if err != nil {
		return nil, err
	}
	return append([]any{
		s.baseOf(ss.ID), ss.ID, hex.EncodeToString(ss.SecretHash), ss.UserID, ss.ClientID,
		millis(ss.CreatedAt), millis(expiry(ss)),
	}, recordFields(ss, data, aud)...), nil
}

// GetSession returns the record with the given public id, or
// store.ErrNotFound. It is one script call, which follows a cookie
// session's id to its record.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	b := s.baseOf(id)
	reply, err := s.scripts.get.Run(ctx, s.client, []string{recordKey(b, id)}, b, id).Result()
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

// GetSessionBySecretHash returns the record whose SecretHash is hash and
// whose id has no route (the records of earlier versions, and those of
// callers that make their own ids), or store.ErrNotFound; an empty hash
// matches nothing. A routed record is found by
// GetSessionBySecretHashRoute. A cookie session's record is kept under
// its secret hash, so this is one HGETALL: the cookie check costs one
// plain command, no script.
func (s *Store) GetSessionBySecretHash(ctx context.Context, hash []byte) (store.Session, error) {
	return s.getByHash(ctx, s.legacy, hash)
}

// GetSessionBySecretHashRoute returns the record whose SecretHash is hash
// among the records of route (see SessionRoute), or store.ErrNotFound; an
// empty hash or an invalid route matches nothing. It is one HGETALL on
// the route's slot.
func (s *Store) GetSessionBySecretHashRoute(ctx context.Context, route string, hash []byte) (store.Session, error) {
	if !ValidRoute(route) {
		return store.Session{}, fmt.Errorf("redisstore: get session by secret hash: %w", store.ErrNotFound)
	}
	return s.getByHash(ctx, s.routeBase(route), hash)
}

// getByHash returns the record under base whose SecretHash is hash.
func (s *Store) getByHash(ctx context.Context, base string, hash []byte) (store.Session, error) {
	if len(hash) == 0 {
		return store.Session{}, fmt.Errorf("redisstore: get session by secret hash: %w", store.ErrNotFound)
	}
	m, err := s.client.HGetAll(ctx, hashKey(base, hex.EncodeToString(hash))).Result()
	if err != nil {
		return store.Session{}, fmt.Errorf("redisstore: get session by secret hash: %w", err)
	}
	ss, ok, err := decodeMap(m, slices.Clone(hash))
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
// Redis has expired. It runs one script on the user's route and one on
// the legacy layout, at the same time.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]store.Session, error) {
	ss, err := s.runUser(ctx, userID, "0", "")
	if err != nil {
		return nil, fmt.Errorf("redisstore: list user sessions: %w", err)
	}
	return ss, nil
}

// TouchSession sets the record's LastSeenAt and IdleExpiresAt, or returns
// store.ErrNotFound. The record's expiry in Redis moves with
// IdleExpiresAt (within ExpiresAt).
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen, idleExpiresAt time.Time) error {
	b := s.baseOf(id)
	n, err := s.scripts.touch.Run(ctx, s.client, []string{recordKey(b, id)}, b, id, millis(lastSeen), millis(idleExpiresAt)).Int()
	if err != nil {
		return fmt.Errorf("redisstore: touch session: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("redisstore: touch session: %w", store.ErrNotFound)
	}
	return nil
}

// UpdateSessionAuth sets the record's AuthMethods, AuthTime and
// EnrolmentOnly in one script, or returns store.ErrNotFound.
func (s *Store) UpdateSessionAuth(ctx context.Context, id string, methods []string, authTime time.Time, enrolmentOnly bool) error {
	b := s.baseOf(id)
	n, err := s.scripts.auth.Run(ctx, s.client, []string{recordKey(b, id)}, b, id,
		strings.Join(methods, " "), optionalMillis(authTime), enrolmentOnlyField(enrolmentOnly)).Int()
	if err != nil {
		return fmt.Errorf("redisstore: update session auth: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("redisstore: update session auth: %w", store.ErrNotFound)
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
	b := s.baseOf(id)
	keys := []string{recordKey(b, id)}
	// An empty version only reads.
	version, enc := "", ""
	for attempt := 0; ; attempt++ {
		reply, err := s.scripts.update.Run(ctx, s.client, keys, b, id, version, enc).Result()
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
	b := s.baseOf(id)
	n, err := s.write(ctx, s.scripts.delete, []string{recordKey(b, id)}, b, id).Int()
	if err != nil {
		return fmt.Errorf("redisstore: delete session: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("redisstore: delete session: %w", store.ErrNotFound)
	}
	return nil
}

// DeleteSessions removes the records with the given ids, one script
// each, up to deleteSessionsWorkers at a time, and returns the ids it
// removed.
func (s *Store) DeleteSessions(ctx context.Context, ids []string) ([]string, error) {
	done := make([]bool, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, deleteSessionsWorkers)
	var wg sync.WaitGroup
	for i, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := s.DeleteSession(ctx, id)
			done[i] = err == nil
			if !errors.Is(err, store.ErrNotFound) {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	removed := []string{}
	for i, id := range ids {
		if done[i] {
			removed = append(removed, id)
		}
	}
	return removed, errors.Join(errs...)
}

// deleteSessionsWorkers bounds the scripts DeleteSessions runs at once.
const deleteSessionsWorkers = 16

// DeleteUserSessions removes every record of the user except the one whose
// id is exceptID (which may be empty), in one script, and returns the
// removed records, oldest first.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, exceptID string) ([]store.Session, error) {
	ss, err := s.runUser(ctx, userID, "1", exceptID)
	if err != nil {
		return nil, fmt.Errorf("redisstore: delete user sessions: %w", err)
	}
	return ss, nil
}

// DeleteClientSessions removes every record whose ClientID is clientID,
// with one script per route that holds grants of the client (and one on
// the legacy layout), and returns the removed records, oldest first. An
// empty clientID matches nothing and costs no round trip.
func (s *Store) DeleteClientSessions(ctx context.Context, clientID string) ([]store.Session, error) {
	ss, err := s.runClient(ctx, clientID, "1")
	if err != nil {
		return nil, fmt.Errorf("redisstore: delete client sessions: %w", err)
	}
	return ss, nil
}

// ListClientSessions returns every record whose ClientID is clientID,
// oldest first, with the same scripts as DeleteClientSessions.
func (s *Store) ListClientSessions(ctx context.Context, clientID string) ([]store.Session, error) {
	ss, err := s.runClient(ctx, clientID, "0")
	if err != nil {
		return nil, fmt.Errorf("redisstore: list client sessions: %w", err)
	}
	return ss, nil
}

// runClient runs the delete_client script (del "1" deletes, "0" only lists) on
// every route that holds grants of the client and on the legacy layout.
func (s *Store) runClient(ctx context.Context, clientID, del string) ([]store.Session, error) {
	if clientID == "" {
		return []store.Session{}, nil
	}
	routes, err := s.client.ZRange(ctx, s.clientRoutesKey(clientID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: delete client sessions: %w", err)
	}
	bs := []string{s.legacy}
	for _, r := range routes {
		if ValidRoute(r) {
			bs = append(bs, s.routeBase(r))
		}
	}
	return s.runEach(ctx, s.scripts.deleteClient, bs, func(b string) string { return clientKey(b, clientID) }, clientID, del)
}

// runUser runs the list script for the user on the user's route and on the
// legacy layout.
func (s *Store) runUser(ctx context.Context, userID string, args ...any) ([]store.Session, error) {
	bs := []string{s.routeBase(routeOfUser(userID)), s.legacy}
	return s.runEach(ctx, s.scripts.list, bs, func(b string) string { return userKey(b, userID) }, append([]any{userID}, args...)...)
}

// runEach runs a script that answers a list of records under each key
// base in bs at the same time, its key key(base), and merges the answers
// oldest first (by CreatedAt, then id, as each script orders them).
func (s *Store) runEach(ctx context.Context, script *redis.Script, bs []string, key func(string) string, args ...any) ([]store.Session, error) {
	lists := make([][]store.Session, len(bs))
	errs := make([]error, len(bs))
	var wg sync.WaitGroup
	for i, b := range bs {
		wg.Go(func() {
			lists[i], errs[i] = s.runList(ctx, script, b, key(b), args...)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := slices.Concat(lists...)
	if out == nil {
		out = []store.Session{}
	}
	slices.SortStableFunc(out, func(a, b store.Session) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// runList runs a script that answers a list of records, under key base b.
func (s *Store) runList(ctx context.Context, script *redis.Script, b, key string, args ...any) ([]store.Session, error) {
	var reply any
	var err error
	if script == s.scripts.list && args[1] == "0" {
		// Only listing: no write to wait for.
		reply, err = script.Run(ctx, s.client, []string{key}, append([]any{b}, args...)...).Result()
	} else {
		reply, err = s.write(ctx, script, []string{key}, append([]any{b}, args...)...).Result()
	}
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
//
// It sweeps every route and the legacy layout, sweepWorkers at a time.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	bs := s.bases()
	var (
		total atomic.Int64
		next  atomic.Int64
		errs  = make([]error, sweepWorkers)
		wg    sync.WaitGroup
	)
	for w := range sweepWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bs) {
					return
				}
				n, err := s.sweep(ctx, bs[i], now)
				total.Add(int64(n))
				if err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return int(total.Load()), fmt.Errorf("redisstore: delete expired sessions: %w", err)
	}
	return int(total.Load()), nil
}

// sweepWorkers is how many routes DeleteExpiredSessions sweeps at once.
const sweepWorkers = 8

// sweep is DeleteExpiredSessions for the records under key base b.
func (s *Store) sweep(ctx context.Context, b string, now time.Time) (int, error) {
	total := 0
	for {
		res, err := s.scripts.sweep.Run(ctx, s.client, []string{expiryKey(b)}, b, millis(now), sweepBatch).Int64Slice()
		if err != nil {
			return total, err
		}
		if len(res) != 2 {
			return total, fmt.Errorf("unexpected reply %v", res)
		}
		total += int(res[0])
		if res[1] < sweepBatch {
			return total, nil
		}
	}
}

// CountSessions returns how many records are not expired at now: a
// ZCOUNT, O(log n), on each bucket of the expiry index of every route and
// of the legacy layout, one script per key base, all in one pipeline (one
// round trip per node of a Cluster). Records that Redis has expired but
// no sweep has yet cleaned up expired before Redis's clock; they are
// counted only for a now earlier than that.
func (s *Store) CountSessions(ctx context.Context, now time.Time) (int, error) {
	bs := s.bases()
	for attempt := 0; ; attempt++ {
		if err := s.scripts.count.Load(ctx, s.client).Err(); err != nil {
			return 0, fmt.Errorf("redisstore: count sessions: load script: %w", err)
		}
		cmds := make([]*redis.Cmd, len(bs))
		pipe := s.client.Pipeline()
		for i, b := range bs {
			cmds[i] = s.scripts.count.EvalSha(ctx, pipe, []string{expiryKey(b)}, b, "("+millis(now))
		}
		_, err := pipe.Exec(ctx)
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") && attempt == 0 {
			// A node that lost its scripts (a restart, a failover):
			// load again, once.
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("redisstore: count sessions: %w", err)
		}
		n := 0
		for _, c := range cmds {
			v, err := c.Int()
			if err != nil {
				return 0, fmt.Errorf("redisstore: count sessions: %w", err)
			}
			n += v
		}
		return n, nil
	}
}
