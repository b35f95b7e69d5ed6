-- One batch of DeleteExpiredSessions. KEYS[1]: x. ARGV[2]: now (ms),
-- ARGV[3]: the batch size. Removes up to a batch of records expired at
-- now, and the index entries of those Redis already expired, from every
-- bucket of the expiry index in turn. Returns {the number of records so
-- ended, the number of entries looked at}.
local now, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local n, seen = 0, 0
for b = 0, 2 ^ level() - 1 do
  if seen >= limit then break end
  local xk = xkey(b)
  local ids = redis.call('ZRANGEBYSCORE', xk, '-inf', ARGV[2], 'LIMIT', 0, limit - seen)
  seen = seen + #ids
  for _, id in ipairs(ids) do
    local hk = home(id)
    if not hk then
      -- Redis expired the record: only index entries were left.
      redis.call('DEL', B .. 'r:' .. id)
      redis.call('HDEL', ikey(b), id)
      redis.call('ZREM', xk, id)
      n = n + 1
    else
      local f = redis.call('HMGET', hk, 'id', 'sh', 'u', 'c', 'ex', 'ie')
      local exp = expiry(f[5], f[6])
      if tonumber(exp) <= now then
        unlink(f[1], f[2] or shOf(hk), f[3], f[4])
        n = n + 1
      else
        -- A stale score; the record lives on.
        redis.call('ZADD', xk, exp, id)
      end
    end
  end
end
return {n, seen}
