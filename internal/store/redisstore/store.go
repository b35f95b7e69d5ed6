package redisstore

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// DefaultKeyPrefix is the default of Options.KeyPrefix.
const DefaultKeyPrefix = "gatehouse:"

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// KeyPrefix starts every key the store writes, so that several
	// deployments (or tests) can share one Redis database. Default
	// DefaultKeyPrefix ("gatehouse:"). The store appends its own hash
	// tags: "{<route>}" for the records of each route (see SessionRoute)
	// and "{sessions}" for records whose id has no route; so the prefix
	// should hold no braces: one with a hash tag of its own ("{tenant-a}:")
	// moves the whole store to that tag's slot, which works but no longer
	// spreads over a Cluster, and one with an empty tag ("{}") would
	// scatter a record's keys and break every script there.
	KeyPrefix string
	// WaitReplicas, if positive, makes every write that creates or
	// revokes a record (CreateSession, DeleteSession, DeleteUserSessions,
	// DeleteClientSessions) wait, with Redis's WAIT on the connection of
	// the write, until that many replicas have acknowledged it, or
	// WaitTimeout has passed; short of that many, the call fails with
	// ErrNotReplicated (the master has the write). Redis replicates
	// asynchronously: without it, a master that fails over loses the
	// acknowledged writes its replica had not received yet (see "Redis
	// Sentinel" in docs/deploy.md for the measured cost). Not for a
	// Cluster client, whose pipelines send a keyless WAIT to any node.
	WaitReplicas int
	// WaitTimeout bounds each WAIT; default DefaultWaitTimeout.
	WaitTimeout time.Duration
}

// DefaultWaitTimeout is the default of Options.WaitTimeout.
const DefaultWaitTimeout = time.Second

// ErrNotReplicated reports a write that fewer replicas than
// Options.WaitReplicas acknowledged in time.
var ErrNotReplicated = errors.New("redisstore: write not acknowledged by enough replicas")

// Store is a store.SessionStore in Redis. It is safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	// prefix is Options.KeyPrefix or its default.
	prefix string
	// legacy starts every key of the records whose id carries no route:
	// prefix + "{sessions}:", the one-slot layout of earlier versions.
	legacy string
	// waitReplicas and waitTimeout are Options.WaitReplicas and
	// WaitTimeout.
	waitReplicas int
	waitTimeout  time.Duration
	scripts      *scripts
}

var _ store.SessionStore = (*Store)(nil)

// New returns a Store that keeps its records in client. The caller owns
// the client and closes it.
func New(client redis.UniversalClient, opts Options) *Store {
	prefix := opts.KeyPrefix
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	wt := opts.WaitTimeout
	if wt <= 0 {
		wt = DefaultWaitTimeout
	}
	return &Store{client: client, prefix: prefix, legacy: prefix + "{sessions}:", waitReplicas: opts.WaitReplicas, waitTimeout: wt, scripts: newScripts()}
}

// write runs a script that writes, and, if Options.WaitReplicas asks,
// WAITs for the replicas in the same pipeline: one round trip, on one
// connection, as WAIT requires.
func (s *Store) write(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	if s.waitReplicas <= 0 {
		return script.Run(ctx, s.client, keys, args...)
	}
	for attempt := 0; ; attempt++ {
		var cmd *redis.Cmd
		var wait *redis.Cmd
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			cmd = script.EvalSha(ctx, p, keys, args...)
			wait = p.Do(ctx, "wait", s.waitReplicas, s.waitTimeout.Milliseconds())
			return nil
		})
		if err != nil && redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") && attempt == 0 {
			if err := script.Load(ctx, s.client).Err(); err != nil {
				cmd.SetErr(err)
				return cmd
			}
			continue
		}
		if cmd.Err() != nil {
			return cmd
		}
		if n, err := wait.Int64(); err != nil {
			cmd.SetErr(fmt.Errorf("wait for replicas: %w", err))
		} else if n < int64(s.waitReplicas) {
			cmd.SetErr(fmt.Errorf("%w: %d of %d", ErrNotReplicated, n, s.waitReplicas))
		}
		return cmd
	}
}

// Routes is how many routes a Store spreads records over: each user's
// records, and the indexes that list them, share one route, and each
// route is one hash tag, so one Cluster slot. 1,024 routes spread over a
// Cluster's masters within a few percent and keep the store-wide work
// (the sweep, CountSessions) at one small step per route.
const Routes = 1024

// routeLen is the length of a route: three lower-case hex digits.
const routeLen = 3

// SessionRoute returns the route of userID's records: three lower-case hex
// digits, from the SHA-256 of the id, below Routes. It is not secret: it
// names one of Routes groups of users, not a user. Record ids and cookie
// values start with it (session.Router), so that the store finds a record
// in one step.
func (s *Store) SessionRoute(userID string) string { return routeOfUser(userID) }

// routeOfUser is SessionRoute.
func routeOfUser(userID string) string {
	sum := sha256.Sum256([]byte(userID))
	n := (int(sum[0])<<8 | int(sum[1])) % Routes
	return fmt.Sprintf("%03x", n)
}

// ValidRoute reports whether r is a route: routeLen lower-case hex digits
// naming one of Routes.
func ValidRoute(r string) bool {
	if len(r) != routeLen {
		return false
	}
	n := 0
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | int(c-'0')
		case 'a' <= c && c <= 'f':
			n = n<<4 | int(c-'a'+10)
		default:
			return false
		}
	}
	return n < Routes
}

// routeOfID returns the route that starts id ("<route>.<rest>"), if any.
func routeOfID(id string) (string, bool) {
	if len(id) <= routeLen+1 || id[routeLen] != '.' || !ValidRoute(id[:routeLen]) {
		return "", false
	}
	return id[:routeLen], true
}

// routeBase returns the key base of a route: prefix + "{<route>}:".
func (s *Store) routeBase(route string) string { return s.prefix + "{" + route + "}:" }

// baseOf returns the key base of the record id: its route's, or the
// legacy one for an id without a route.
func (s *Store) baseOf(id string) string {
	if r, ok := routeOfID(id); ok {
		return s.routeBase(r)
	}
	return s.legacy
}

// bases returns the key base of every route, then the legacy one: what the
// store-wide operations visit.
func (s *Store) bases() []string {
	bs := make([]string, 0, Routes+1)
	for r := range Routes {
		bs = append(bs, s.routeBase(fmt.Sprintf("%03x", r)))
	}
	return append(bs, s.legacy)
}

// Keys of one record and of the indexes, under a key base; see
// lua/common.lua for the layout.

func recordKey(base, id string) string       { return base + "r:" + id }
func hashKey(base, hexHash string) string    { return base + "h:" + hexHash }
func userKey(base, userID string) string     { return base + "u:" + userID }
func clientKey(base, clientID string) string { return base + "c:" + clientID }
func expiryKey(base string) string           { return base + "x" }

// clientRoutesKey is the sorted set of the routes that hold grants of the
// client (score: when the last of them expires), so that
// DeleteClientSessions visits only those. It has a hash tag of its own.
func (s *Store) clientRoutesKey(clientID string) string {
	return s.prefix + "cr:{" + clientID + "}"
}

//go:embed lua/*.lua
var luaFiles embed.FS

// scripts are the Lua scripts of a Store, each with the shared functions
// of common.lua in front. They are built by New, not when the package
// is initialised: a server on SQLite sessions links this package but
// should not pay for them (their sources and hashes, 0.4 MB allocated at
// start-up, issue #18).
type scripts struct {
	create, get, touch, update, delete, list, deleteClient, sweep, count, auth, clientRoutes *redis.Script
}

// newScripts builds the scripts.
func newScripts() *scripts {
	common, err := luaFiles.ReadFile("lua/common.lua")
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	script := func(name string) *redis.Script {
		body, err := luaFiles.ReadFile("lua/" + name)
		if err != nil {
			panic(err)
		}
		return redis.NewScript(string(common) + "\n" + string(body))
	}
	return &scripts{
		create: script("create.lua"), get: script("get.lua"), touch: script("touch.lua"),
		update: script("update.lua"), delete: script("delete.lua"), list: script("list.lua"),
		deleteClient: script("delete_client.lua"), sweep: script("sweep.lua"), count: script("count.lua"),
		auth: script("auth.lua"), clientRoutes: redis.NewScript(clientRoutesLua),
	}
}

// clientRoutesLua adds a route to a client's routes. KEYS[1]: the client's
// routes key. ARGV[1]: the route, ARGV[2]: when the grant expires (ms).
// The score only grows, and the key lives until the latest grant ends.
const clientRoutesLua = `
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
local cur = redis.call('PEXPIRETIME', KEYS[1])
if cur == -1 or cur < tonumber(ARGV[2]) then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
return 1`

// millis returns t as stored: unix milliseconds, rounded down.
func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// expiry returns the earlier of the record's timeouts, when Redis drops it.
func expiry(s store.Session) time.Time {
	if s.IdleExpiresAt.Before(s.ExpiresAt) {
		return s.IdleExpiresAt
	}
	return s.ExpiresAt
}

// encodeData returns data as stored: "{}" for nil, else data itself, which
// must pass store.ValidateSessionData.
func encodeData(data json.RawMessage) (string, error) {
	if data == nil {
		return "{}", nil
	}
	if err := store.ValidateSessionData(data); err != nil {
		return "", err
	}
	return string(data), nil
}

// encodeAudience returns a grant's audience as stored: "" for none, else
// a JSON array of strings.
func encodeAudience(aud []string) (string, error) {
	if len(aud) == 0 {
		return "", nil
	}
	b, err := json.Marshal(aud)
	if err != nil {
		return "", fmt.Errorf("encode audience: %w", err)
	}
	return string(b), nil
}

// recordFields returns the hash fields of s, as field, value pairs; data
// and aud are its Data and Audience as stored. It leaves out the secret
// hash, which names the record's key, and the optional fields that are
// empty; it stores the User-Agent coded (encodeUA) as ub; and it cuts the
// values of the fields that may be long and that no script reads (see
// chunked) into parts of at most maxPart bytes. All this keeps a cookie
// session's hash in Redis's compact encoding.
func recordFields(s store.Session, data, aud string) []any {
	ua, uaField := s.UserAgent, "ua"
	if coded, ok := encodeUA(ua); ok {
		ua, uaField = coded, "ub"
	}
	all := []any{
		"id", s.ID,
		"k", string(s.Kind),
		"u", s.UserID,
		"c", s.ClientID,
		"sc", s.Scope,
		"a", aud,
		"ct", millis(s.CreatedAt),
		"ls", millis(s.LastSeenAt),
		"ie", millis(s.IdleExpiresAt),
		"ex", millis(s.ExpiresAt),
		uaField, ua,
		"ip", s.IP,
		"d", data,
		"v", strconv.FormatInt(s.DataVersion, 10),
		"at", optionalMillis(s.AuthTime),
		"as", s.AuthSessionID,
		"am", strings.Join(s.AuthMethods, " "),
		"eo", enrolmentOnlyField(s.EnrolmentOnly),
	}
	f := all[:0]
	for i := 0; i < len(all); i += 2 {
		if all[i+1] == "" && optional(all[i].(string)) {
			continue
		}
		f = append(f, all[i], all[i+1])
	}
	for i := 0; i < len(f); i += 2 {
		name, v := f[i].(string), f[i+1].(string)
		if len(v) <= maxPart || !chunked(name) {
			continue
		}
		f[i+1] = v[:maxPart]
		for n, rest := 1, v[maxPart:]; rest != ""; n++ {
			part := rest[:min(maxPart, len(rest))]
			rest = rest[len(part):]
			f = append(f, name+strconv.Itoa(n), part)
		}
	}
	return f
}

// maxPart is the longest value a record field holds: Redis keeps a hash
// whose values are all at most 64 bytes (hash-max-listpack-value, by
// default) in one compact listpack, and switches it to a hash table,
// about three times larger, for the first longer one. A browser's
// User-Agent is usually longer, so it is stored in parts: "ua" holds its
// first maxPart bytes, "ua1", "ua2", … the rest, in order.
const maxPart = 64

// chunked reports whether a field's value is stored in parts when long:
// the User-Agent, the scope and the audience, which no script reads.
func chunked(name string) bool { return name == "ua" || name == "ub" || name == "sc" || name == "a" }

// optional reports whether a field is left out when empty: the decoder
// reads a missing one as empty, and the scripts read none of them but c,
// which they take missing for empty.
func optional(name string) bool {
	switch name {
	case "c", "sc", "a", "ua", "ub", "ip", "at", "as", "am", "eo":
		return true
	}
	return false
}

// enrolmentOnlyField returns Session.EnrolmentOnly as stored: "1", or ""
// (left out) for false.
func enrolmentOnlyField(on bool) string {
	if on {
		return "1"
	}
	return ""
}

// optionalMillis returns a time that may be zero as stored: "" for the
// zero time, else unix milliseconds.
func optionalMillis(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return millis(t)
}

// errCorrupt reports a record that the store cannot read back.
var errCorrupt = errors.New("redisstore: corrupt record")

// Bits of the fields every record has; see decoder.required.
const (
	hasID = 1 << iota
	hasKind
	hasUser
	hasCreated
	hasLastSeen
	hasIdle
	hasExpires
	hasData
	hasVersion
	hasAll = hasID | hasKind | hasUser | hasCreated | hasLastSeen | hasIdle | hasExpires | hasData | hasVersion
)

// decoder builds a Session from hash fields given one by one. Fields it
// does not know are ignored, and fields added after a record was written
// may be missing, so records survive a change of the record layout.
type decoder struct {
	s        store.Session
	required int // the has* bits seen
	err      error
	// parts holds the values of the fields of chunked fields after the
	// first: "ua1", "ua2", …; nil if there are none.
	parts map[string]string
	// ua, ub, sc and a are the first parts of those fields.
	ua, ub, sc, a string
}

// set decodes one field.
func (d *decoder) set(name, value string) {
	switch name {
	case "id":
		d.s.ID = value
		d.required |= hasID
	case "sh":
		if value != "" {
			b, err := hex.DecodeString(value)
			if err != nil {
				d.fail(name, err)
			}
			d.s.SecretHash = b
		}
	case "k":
		d.s.Kind = store.SessionKind(value)
		d.required |= hasKind
	case "u":
		d.s.UserID = value
		d.required |= hasUser
	case "c":
		d.s.ClientID = value
	case "sc":
		d.sc = value
	case "a":
		d.a = value
	case "ct":
		d.s.CreatedAt = d.time(name, value)
		d.required |= hasCreated
	case "ls":
		d.s.LastSeenAt = d.time(name, value)
		d.required |= hasLastSeen
	case "ie":
		d.s.IdleExpiresAt = d.time(name, value)
		d.required |= hasIdle
	case "ex":
		d.s.ExpiresAt = d.time(name, value)
		d.required |= hasExpires
	case "at":
		if value != "" {
			d.s.AuthTime = d.time(name, value)
		}
	case "as":
		d.s.AuthSessionID = value
	case "am":
		d.s.AuthMethods = strings.Fields(value)
	case "eo":
		d.s.EnrolmentOnly = value == "1"
	case "ua":
		d.ua = value
	case "ub":
		d.ub = value
	case "ip":
		d.s.IP = value
	case "d":
		d.s.Data = json.RawMessage(value)
		d.required |= hasData
	case "v":
		v, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			d.fail(name, err)
		}
		d.s.DataVersion = v
		d.required |= hasVersion
	default:
		if i := strings.IndexAny(name, "123456789"); i > 0 && chunked(name[:i]) {
			if d.parts == nil {
				d.parts = map[string]string{}
			}
			d.parts[name] = value
		}
	}
}

// joined returns the value of a chunked field whose first part is first.
func (d *decoder) joined(name, first string) string {
	if d.parts == nil {
		return first
	}
	v := first
	for n := 1; ; n++ {
		p, ok := d.parts[name+strconv.Itoa(n)]
		if !ok {
			return v
		}
		v += p
	}
}

// time decodes unix milliseconds.
func (d *decoder) time(name, value string) time.Time {
	ms, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		d.fail(name, err)
	}
	return time.UnixMilli(ms).UTC()
}

func (d *decoder) fail(name string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: field %s: %w", errCorrupt, name, err)
	}
}

// result returns the decoded record, or an error if a field was malformed
// or one that every record has was missing.
func (d *decoder) result() (store.Session, error) {
	if d.err != nil {
		return store.Session{}, d.err
	}
	if d.required != hasAll {
		return store.Session{}, fmt.Errorf("%w: fields missing (have %b of %b)", errCorrupt, d.required, hasAll)
	}
	d.s.UserAgent = d.joined("ua", d.ua)
	if ub := d.joined("ub", d.ub); ub != "" {
		d.s.UserAgent = decodeUA(ub)
	}
	d.s.Scope = d.joined("sc", d.sc)
	if a := d.joined("a", d.a); a != "" {
		if err := json.Unmarshal([]byte(a), &d.s.Audience); err != nil {
			return store.Session{}, fmt.Errorf("%w: field a: %w", errCorrupt, err)
		}
	}
	return d.s, nil
}

// decodeMap decodes a cookie session's record read with HGETALL, whose
// secret hash is hash; ok is false for an empty map (no record).
func decodeMap(m map[string]string, hash []byte) (s store.Session, ok bool, err error) {
	if len(m) == 0 {
		return store.Session{}, false, nil
	}
	var d decoder
	d.s.SecretHash = hash
	for k, v := range m {
		d.set(k, v)
	}
	s, err = d.result()
	return s, true, err
}

// decodePairs decodes a record returned by a script as HGETALL pairs; ok
// is false for an empty array (no record).
func decodePairs(reply any) (s store.Session, ok bool, err error) {
	pairs, isArray := reply.([]any)
	if !isArray || len(pairs)%2 != 0 {
		return store.Session{}, false, fmt.Errorf("%w: unexpected reply %T", errCorrupt, reply)
	}
	if len(pairs) == 0 {
		return store.Session{}, false, nil
	}
	var d decoder
	for i := 0; i < len(pairs); i += 2 {
		k, _ := pairs[i].(string)
		v, _ := pairs[i+1].(string)
		d.set(k, v)
	}
	s, err = d.result()
	return s, true, err
}

// decodeList decodes a script's array of records.
func decodeList(reply any) ([]store.Session, error) {
	items, ok := reply.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: unexpected reply %T", errCorrupt, reply)
	}
	ss := make([]store.Session, 0, len(items))
	for _, item := range items {
		s, found, err := decodePairs(item)
		if err != nil {
			return nil, err
		}
		if found {
			ss = append(ss, s)
		}
	}
	return ss, nil
}
