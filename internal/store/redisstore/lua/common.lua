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
--                 string r:<id>, "h:<hex hash>", instead)
--   r:<id>        hash, a token grant's record (no secret hash)
--   u:<user id>   sorted set of the user's ids, score CreatedAt (ms)
--   c:<client id> sorted set of the client's ids, score CreatedAt (ms)
--   x             sorted set of every id, score min(ExpiresAt, IdleExpiresAt)
--
-- Record fields: id, k, u, c, sc, a (audience, a JSON array), ct, ls, ie,
-- ex (times in unix ms), ua (or ub, the User-Agent coded shorter), ip, d
-- (data), v (version), at (auth time in unix ms), as (auth session id).
-- Optional fields that are empty are left out; ua, sc and a, when longer
-- than 64 bytes, go on in ua1, ua2, … (see recordFields in store.go), so
-- that Redis keeps the hash in its compact listpack encoding. The secret
-- hash (lower-case hex) is the h: key's name; records written by earlier
-- versions also hold it as sh. Records written before a field existed
-- lack it.
-- A record expires at min(ExpiresAt, IdleExpiresAt); i and the sorted sets
-- expire with the last record they list.
local B = ARGV[1]

-- home returns the key of the record id, or nil if there is none.
local function home(id)
  local sh = redis.call('HGET', B .. 'i', id)
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

-- expiry returns the record's end as Redis keeps it: the earlier of its
-- absolute and idle expiry, as the decimal string stored.
local function expiry(ex, ie)
  if tonumber(ie) < tonumber(ex) then return ie end
  return ex
end

-- unlink removes the record id and every key and index entry naming it.
local function unlink(id, sh, uid, cid)
  redis.call('DEL', B .. 'r:' .. id)
  redis.call('HDEL', B .. 'i', id)
  if sh and sh ~= '' then
    local hk = B .. 'h:' .. sh
    if redis.call('HGET', hk, 'id') == id then redis.call('DEL', hk) end
  end
  if uid then redis.call('ZREM', B .. 'u:' .. uid, id) end
  if cid and cid ~= '' then redis.call('ZREM', B .. 'c:' .. cid, id) end
  redis.call('ZREM', B .. 'x', id)
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
