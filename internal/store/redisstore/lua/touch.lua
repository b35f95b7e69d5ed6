-- TouchSession. KEYS[1]: r:<id>. ARGV[2]: id, ARGV[3]: LastSeenAt, ARGV[4]:
-- IdleExpiresAt (ms). Returns 0 if there is no record, else 1.
local hk = home(ARGV[2])
if not hk then return 0 end
local f = redis.call('HMGET', hk, 'id', 'u', 'c', 'ex')
redis.call('HSET', hk, 'ls', ARGV[3], 'ie', ARGV[4])
local exp = expiry(f[4], ARGV[4])
local ik, xk = idx(f[1])
redis.call('PEXPIREAT', hk, exp)
if hk ~= KEYS[1] then
  -- The id's entry in i, or an earlier version's r: pointer.
  if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIREAT', KEYS[1], exp) else extend(ik, exp) end
end
extendOwner('u', f[2], oidx('u', f[2], f[1]), exp)
if f[3] and f[3] ~= '' then extendOwner('c', f[3], oidx('c', f[3], f[1]), exp) end
redis.call('ZADD', xk, exp, f[1])
extendIndex(xk, exp)
return 1
