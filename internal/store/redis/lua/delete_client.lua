-- DeleteClientSessions. KEYS[1]: c:<client>. ARGV[2]: the client.
-- Returns the removed records (HGETALL pairs), oldest first.
local cid = ARGV[2]
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local rec = owned(id, 'c', cid)
  if rec then
    remove(rec)
    out[#out + 1] = rec
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
