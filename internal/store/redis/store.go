package redisstore

import (
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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
	// DefaultKeyPrefix ("gatehouse:"). The store appends its own hash tag,
	// "{sessions}", so the prefix should hold no braces; a prefix with a
	// hash tag of its own ("{tenant-a}:") moves the whole store to that
	// tag's slot, which is fine, but one with an empty tag ("{}") would
	// scatter its keys across a Cluster and break every script there.
	KeyPrefix string
}

// Store is a store.SessionStore in Redis. It is safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	// base starts every key: KeyPrefix + "{sessions}:".
	base string
}

var _ store.SessionStore = (*Store)(nil)

// New returns a Store that keeps its records in client. The caller owns
// the client and closes it.
func New(client redis.UniversalClient, opts Options) *Store {
	prefix := opts.KeyPrefix
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	return &Store{client: client, base: prefix + "{sessions}:"}
}

// Keys of one record and of the indexes; see lua/common.lua for the
// layout.

func (s *Store) recordKey(id string) string       { return s.base + "r:" + id }
func (s *Store) hashKey(hexHash string) string    { return s.base + "h:" + hexHash }
func (s *Store) userKey(userID string) string     { return s.base + "u:" + userID }
func (s *Store) clientKey(clientID string) string { return s.base + "c:" + clientID }
func (s *Store) expiryKey() string                { return s.base + "x" }

// The scripts, each with the shared functions of common.lua in front.
var (
	//go:embed lua/*.lua
	luaFiles embed.FS

	createScript       = newScript("create.lua")
	getScript          = newScript("get.lua")
	touchScript        = newScript("touch.lua")
	updateScript       = newScript("update.lua")
	deleteScript       = newScript("delete.lua")
	listScript         = newScript("list.lua")
	deleteClientScript = newScript("delete_client.lua")
	sweepScript        = newScript("sweep.lua")
)

// newScript returns lua/common.lua followed by lua/name.
func newScript(name string) *redis.Script {
	common, err := luaFiles.ReadFile("lua/common.lua")
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	body, err := luaFiles.ReadFile("lua/" + name)
	if err != nil {
		panic(err)
	}
	return redis.NewScript(string(common) + "\n" + string(body))
}

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
// and aud are its Data and Audience as stored.
func recordFields(s store.Session, data, aud string) []any {
	return []any{
		"id", s.ID,
		"sh", hex.EncodeToString(s.SecretHash),
		"k", string(s.Kind),
		"u", s.UserID,
		"c", s.ClientID,
		"sc", s.Scope,
		"a", aud,
		"ct", millis(s.CreatedAt),
		"ls", millis(s.LastSeenAt),
		"ie", millis(s.IdleExpiresAt),
		"ex", millis(s.ExpiresAt),
		"ua", s.UserAgent,
		"ip", s.IP,
		"d", data,
		"v", strconv.FormatInt(s.DataVersion, 10),
		"at", optionalMillis(s.AuthTime),
		"as", s.AuthSessionID,
	}
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
		d.s.Scope = value
	case "a":
		if value != "" {
			if err := json.Unmarshal([]byte(value), &d.s.Audience); err != nil {
				d.fail(name, err)
			}
		}
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
	case "ua":
		d.s.UserAgent = value
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
	return d.s, nil
}

// decodeMap decodes a record read with HGETALL; ok is false for an empty
// map (no record).
func decodeMap(m map[string]string) (s store.Session, ok bool, err error) {
	if len(m) == 0 {
		return store.Session{}, false, nil
	}
	var d decoder
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
