-- Shared by every script of the session store; prepended to each.
--
-- ARGV[1] is always the store's key base, "<prefix>{sessions}:". Every key
-- a script touches starts with it, so all of them share the hash tag and
-- live in one Cluster slot: a script may derive keys from stored values
-- (a record's user, client and secret hash) and still stay in its slot.
--
--   h:<hex hash>  hash, a cookie session's record, found by its secret
--                 hash with one HGETALL (the cookie check)
--   i             hash of each cookie session's id to its hex secret
--                 hash, the name of its record (earlier versions kept a
--                 string r:<id>, "h:<hex hash>", instead); bucket 0 of
--                 the id index, see below
--   r:<id>        hash, a token grant's record (no secret hash)
--   u:<user id>   sorted set of the user's ids, score CreatedAt (ms);
--                 bucket 0 of the user's index, see below
--   c:<client id> sorted set of the client's ids, score CreatedAt (ms);
--                 bucket 0 of the client's index
--   u<n>:<user id>, c<n>:<client id>  bucket n > 0 of those indexes
--   ul:<user id>, cl:<client id>      string, that index's split level
--                 (absent: 0)
--   x             sorted set of every id, score min(ExpiresAt, IdleExpiresAt);
--                 bucket 0 of the expiry index
--   i:<n>, x:<n>  buckets n > 0 of the two indexes, once the base has split
--   l             string, the base's split level L (absent: 0)
--
-- The id index (i) and the expiry index (x) are cut into 2^L buckets by a
-- hash of the id (bucket), so that each stays below Redis's default
-- hash-max-listpack-entries and zset-max-listpack-entries (128) and keeps
-- the compact listpack encoding: a hash table or skip list costs some 140
-- bytes more per entry. A base starts at level 0, the layout of earlier
-- versions (i and x alone, nothing more to store); when an insert makes a
-- bucket of x longer than SPLIT_AT, every bucket splits in two (split) and
-- L grows by one. l expires no earlier than any bucket, so it never goes
-- while a bucket it names is left.
--
-- A user's index (u:<user id>) and a client's (c:<client id>) split the
-- same way, each with a level of its own (ul:<user id>, cl:<client id>):
-- one user can hold many sessions and grants, one client grants of many
-- users of the route, so either can pass 128 entries while the route's
-- buckets do not, and a small one keeps the one key of earlier versions.
-- The bucket number goes before the colon (u1:, c2:, …) so that no id,
-- whatever it holds, names another owner's bucket.
--
-- Record fields: id, k, u, c, sc, a (audience, a JSON array), ct, ls, ie,
-- ex (times in unix ms), ua (or ub, the User-Agent coded shorter), ip, d
-- (data), v (version), at (auth time in unix ms), as (auth session id),
-- am (auth methods, amr values separated by spaces), eo ('1' for an
-- enrolment-only session).
-- Optional fields that are empty are left out; ua, sc and a, when longer
-- than 64 bytes, go on in ua1, ua2, … (see recordFields in store.go), so
-- that Redis keeps the hash in its compact listpack encoding. The secret
-- hash (lower-case hex) is the h: key's name; records written by earlier
-- versions also hold it as sh. Records written before a field existed
-- lack it.
-- A record expires at min(ExpiresAt, IdleExpiresAt); i and the sorted sets
-- expire with the last record they list.
local B = ARGV[1]

-- SPLIT_AT is the longest a bucket of x grows before the base splits:
-- below Redis's default listpack limits (128 entries), with room for the
-- unlucky bucket. MAX_LEVEL bounds the buckets at 2^MAX_LEVEL per base.
local SPLIT_AT = 120
local MAX_LEVEL = 10
-- MAX_SPLIT is the longest bucket a split moves, so that one script does
-- not hold Redis for long.
local MAX_SPLIT = 4096

-- LEVEL caches the base's split level for the rest of the script.
local LEVEL = nil

-- level returns the base's split level L.
local function level()
  if not LEVEL then LEVEL = tonumber(redis.call('GET', B .. 'l') or '0') end
  return LEVEL
end

-- bucket returns the bucket of id among 2^lvl: a string hash of the id,
-- so that ids of any shape (routed, legacy, callers' own) spread.
local function bucket(id, lvl)
  if lvl == 0 then return 0 end
  local h = 0
  for i = 1, #id do h = (h * 31 + string.byte(id, i)) % 16777216 end
  return h % (2 ^ lvl)
end

-- ikey and xkey return the keys of bucket n of the id and expiry indexes.
local function ikey(n)
  if n == 0 then return B .. 'i' end
  return B .. 'i:' .. n
end
local function xkey(n)
  if n == 0 then return B .. 'x' end
  return B .. 'x:' .. n
end

-- idx returns the keys of the index buckets that hold id.
local function idx(id)
  local n = bucket(id, level())
  return ikey(n), xkey(n)
end

-- home returns the key of the record id, or nil if there is none.
local function home(id)
  local ik = idx(id)
  local sh = redis.call('HGET', ik, id)
  if sh then
    local hk = B .. 'h:' .. sh
    if redis.call('EXISTS', hk) == 1 then return hk end
    return nil
  end
  local rk = B .. 'r:' .. id
  local t = redis.call('TYPE', rk).ok
  if t == 'hash' then return rk end
  if t == 'string' then
    -- A pointer written by an earlier version.
    local hk = B .. redis.call('GET', rk)
    if redis.call('EXISTS', hk) == 1 then return hk end
  end
  return nil
end

-- extend makes key live at least until at (unix ms): index keys outlive
-- every record they list, and no longer.
local function extend(key, at)
  local cur = redis.call('PEXPIRETIME', key)
  if cur == -1 or cur < tonumber(at) then
    redis.call('PEXPIREAT', key, at)
  end
end

-- extendIndex makes the expiry index bucket xk, and the level that names
-- it, live at least until at.
local function extendIndex(xk, at)
  extend(xk, at)
  if level() > 0 then extend(B .. 'l', at) end
end

-- copyExpiry gives dst, if it exists, the expiry of src, if it has one.
local function copyExpiry(src, dst)
  local at = redis.call('PEXPIRETIME', src)
  if at > 0 and redis.call('EXISTS', dst) == 1 then redis.call('PEXPIREAT', dst, at) end
end

-- moveZ moves the members of the sorted set src that belong to bucket to
-- at level lvl + 1 into dst, and gives dst the expiry of src.
local function moveZ(src, dst, to, lvl)
  local zs = redis.call('ZRANGE', src, 0, -1, 'WITHSCORES')
  for j = 1, #zs, 2 do
    if bucket(zs[j], lvl + 1) == to then
      redis.call('ZADD', dst, zs[j + 1], zs[j])
      redis.call('ZREM', src, zs[j])
    end
  end
  copyExpiry(src, dst)
end

-- latest returns the latest expiry among keys (unix ms, 0 if none has
-- one) and whether one of them never expires.
local function latest(keys)
  local last, forever = 0, false
  for _, k in ipairs(keys) do
    local at = redis.call('PEXPIRETIME', k)
    if at == -1 then forever = true elseif at > last then last = at end
  end
  return last, forever
end

-- setLevel stores lvl in the level key lk, living until last (forever if
-- forever or last is 0, as an index of an earlier version may).
local function setLevel(lk, lvl, last, forever)
  redis.call('SET', lk, lvl)
  if not forever and last > 0 then
    local cur = redis.call('PEXPIRETIME', lk)
    if cur < last then redis.call('PEXPIREAT', lk, last) end
  end
end

-- move moves the entries of bucket n that belong to bucket n + 2^lvl at
-- level lvl + 1, with the bucket's expiry (an index outlives its entries).
local function move(n, lvl)
  local to = n + 2 ^ lvl
  moveZ(xkey(n), xkey(to), to, lvl)
  local is, isd = ikey(n), ikey(to)
  local hs = redis.call('HGETALL', is)
  for j = 1, #hs, 2 do
    if bucket(hs[j], lvl + 1) == to then
      redis.call('HSET', isd, hs[j], hs[j + 1])
      redis.call('HDEL', is, hs[j])
    end
  end
  copyExpiry(is, isd)
end

-- split doubles the base's buckets, unless it is at MAX_LEVEL. The level
-- key lives as long as the longest-lived bucket (forever if one has no
-- expiry, as an index of an earlier version may not).
local function split()
  local lvl = level()
  if lvl >= MAX_LEVEL then return end
  local last, forever = 0, false
  for n = 0, 2 ^ lvl - 1 do
    local l, f = latest({xkey(n), ikey(n)})
    if l > last then last = l end
    forever = forever or f
    move(n, lvl)
  end
  setLevel(B .. 'l', lvl + 1, last, forever)
  LEVEL = lvl + 1
end

-- OLEVELS caches the split level of each owner index for the rest of the
-- script, by family and owner.
local OLEVELS = {}

-- An owner index lists the ids of one user (family 'u', u:<user id>) or
-- of one client (family 'c', c:<client id>), score CreatedAt. Each splits
-- on its own, as the route's indexes do: bucket n > 0 is <f><n>:<owner>
-- and the level <f>l:<owner> (absent: 0).

-- olevelKey returns the key of the split level of the owner's index.
local function olevelKey(f, owner) return B .. f .. 'l:' .. owner end

-- olevel returns the split level of the owner's index.
local function olevel(f, owner)
  local ck = f .. ':' .. owner
  local l = OLEVELS[ck]
  if not l then
    l = tonumber(redis.call('GET', olevelKey(f, owner)) or '0')
    OLEVELS[ck] = l
  end
  return l
end

-- okey returns the key of bucket n of the owner's index.
local function okey(f, owner, n)
  if n == 0 then return B .. f .. ':' .. owner end
  return B .. f .. n .. ':' .. owner
end

-- oidx returns the key of the bucket of the owner's index that holds id.
local function oidx(f, owner, id)
  return okey(f, owner, bucket(id, olevel(f, owner)))
end

-- extendOwner makes the owner index bucket k, and the level that names
-- it, live at least until at.
local function extendOwner(f, owner, k, at)
  extend(k, at)
  if olevel(f, owner) > 0 then extend(olevelKey(f, owner), at) end
end

-- osplit doubles the buckets of the owner's index, unless it is at
-- MAX_LEVEL, as split does for the route's indexes.
local function osplit(f, owner)
  local lvl = olevel(f, owner)
  if lvl >= MAX_LEVEL then return end
  local last, forever = 0, false
  for n = 0, 2 ^ lvl - 1 do
    local src = okey(f, owner, n)
    local l, fv = latest({src})
    if l > last then last = l end
    forever = forever or fv
    local to = n + 2 ^ lvl
    moveZ(src, okey(f, owner, to), to, lvl)
  end
  setLevel(olevelKey(f, owner), lvl + 1, last, forever)
  OLEVELS[f .. ':' .. owner] = lvl + 1
end

-- addOwner adds id, created at created (ms) and ending at exp (ms), to
-- the owner's index, and splits the index when the bucket grows past
-- SPLIT_AT (an index of an earlier version far past it stays as it is).
local function addOwner(f, owner, id, created, exp)
  local k = oidx(f, owner, id)
  redis.call('ZADD', k, created, id)
  extendOwner(f, owner, k, exp)
  local card = redis.call('ZCARD', k)
  if card > SPLIT_AT and card <= MAX_SPLIT then osplit(f, owner) end
end

-- ownerIDs returns the ids in every bucket of the owner's index, each
-- with the key of its bucket.
local function ownerIDs(f, owner)
  local ids, keys = {}, {}
  for n = 0, 2 ^ olevel(f, owner) - 1 do
    local k = okey(f, owner, n)
    for _, id in ipairs(redis.call('ZRANGE', k, 0, -1)) do
      ids[#ids + 1] = id
      keys[#keys + 1] = k
    end
  end
  return ids, keys
end

-- expiry returns the record's end as Redis keeps it: the earlier of its
-- absolute and idle expiry, as the decimal string stored.
local function expiry(ex, ie)
  if tonumber(ie) < tonumber(ex) then return ie end
  return ex
end

-- unlink removes the record id and every key and index entry naming it.
local function unlink(id, sh, uid, cid)
  local ik, xk = idx(id)
  redis.call('DEL', B .. 'r:' .. id)
  redis.call('HDEL', ik, id)
  if sh and sh ~= '' then
    local hk = B .. 'h:' .. sh
    if redis.call('HGET', hk, 'id') == id then redis.call('DEL', hk) end
  end
  if uid then redis.call('ZREM', oidx('u', uid, id), id) end
  if cid and cid ~= '' then redis.call('ZREM', oidx('c', cid, id), id) end
  redis.call('ZREM', xk, id)
end

-- shOf returns the secret hash that names the record key hk (an h: key),
-- or nil. Records keep it in their key name only; older ones also in sh.
local function shOf(hk)
  local p = B .. 'h:'
  if string.sub(hk, 1, #p) == p then return string.sub(hk, #p + 1) end
  return nil
end

-- record returns the record at hk as HGETALL pairs, with sh, its secret
-- hash, at the end for a cookie session.
local function record(hk)
  local r = redis.call('HGETALL', hk)
  local sh = shOf(hk)
  if sh and #r > 0 then
    r[#r + 1] = 'sh'
    r[#r + 1] = sh
  end
  return r
end

-- owned returns the record id as HGETALL pairs (see record) if it exists
-- and its field f is v, else nil: an index entry outlives its record when
-- Redis expires the record, and an id could come back for another owner.
local function owned(id, f, v)
  local hk = home(id)
  if not hk or redis.call('HGET', hk, f) ~= v then return nil end
  return record(hk)
end

-- field returns the value of name in HGETALL pairs.
local function field(pairs, name)
  for i = 1, #pairs, 2 do
    if pairs[i] == name then return pairs[i + 1] end
  end
  return nil
end

-- remove unlinks the record whose HGETALL pairs are rec.
local function remove(rec)
  unlink(field(rec, 'id'), field(rec, 'sh'), field(rec, 'u'), field(rec, 'c'))
end
