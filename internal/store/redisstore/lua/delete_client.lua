-- DeleteClientSessions and ListClientSessions. KEYS[1]: c:<client>
-- (bucket 0 of the client's index; the others are read from its level).
-- ARGV[2]: the client, ARGV[3]: "1" to delete, "0" to only list.
-- Returns the records (HGETALL pairs), in no particular order (the caller
-- sorts). Entries whose record is gone are dropped on the way.
local cid, del = ARGV[2], ARGV[3] == '1'
local out = {}
for n = 0, 2 ^ clevel(cid) - 1 do
  local ck = ckey(cid, n)
  for _, id in ipairs(redis.call('ZRANGE', ck, 0, -1)) do
    local rec = owned(id, 'c', cid)
    if rec then
      if del then
        remove(rec)
      end
      out[#out + 1] = rec
    else
      redis.call('ZREM', ck, id)
    end
  end
end
return out
