-- DeleteClientSessions and ListClientSessions. KEYS[1]: c:<client>.
-- ARGV[2]: the client, ARGV[3]: "1" to delete, "0" to only list.
-- Returns the records (HGETALL pairs), oldest first.
local cid, del = ARGV[2], ARGV[3] == '1'
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local rec = owned(id, 'c', cid)
  if rec then
    if del then
      remove(rec)
    end
    out[#out + 1] = rec
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
