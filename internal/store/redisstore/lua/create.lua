-- CreateSession. KEYS[1]: r:<id>. ARGV[2]: id, ARGV[3]: secret hash (hex,
-- "" for none), ARGV[4]: user, ARGV[5]: client, ARGV[6]: CreatedAt (ms),
-- ARGV[7]: expiry (ms), ARGV[8...]: field, value pairs of the record.
-- Returns "ok", or "id" or "hash" for the unique key that is taken.
local id, sh, uid, cid, created, exp = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local rk = KEYS[1]
if home(id) then return 'id' end
local ik, xk = idx(id)
local hk = rk
if sh ~= '' then
  hk = B .. 'h:' .. sh
  if redis.call('EXISTS', hk) == 1 then return 'hash' end
  redis.call('HSET', ik, id, sh)
  extend(ik, exp)
end
redis.call('HSET', hk, unpack(ARGV, 8))
-- A past time deletes at once: a record created expired is not kept.
redis.call('PEXPIREAT', hk, exp)
addOwner('u', uid, id, created, exp)
if cid ~= '' then addOwner('c', cid, id, created, exp) end
redis.call('ZADD', xk, exp, id)
extendIndex(xk, exp)
-- An index of an earlier version far past the limit (a hash table
-- already) stays as it is rather than block Redis while it moves.
local card = redis.call('ZCARD', xk)
if card > SPLIT_AT and card <= MAX_SPLIT then split() end
return 'ok'
