-- DeleteClientSessions and ListClientSessions. KEYS[1]: c:<client>
-- (bucket 0 of the client's index; the others are read from its level).
-- ARGV[2]: the client, ARGV[3]: "1" to delete, "0" to only list.
-- Returns the records (HGETALL pairs), in no particular order (the caller
-- sorts). Entries whose record is gone are dropped on the way.
local cid, del = ARGV[2], ARGV[3] == '1'
local out = {}
local ids, keys = ownerIDs('c', cid)
for j, id in ipairs(ids) do
  local rec = owned(id, 'c', cid)
  if rec then
    if del then
      remove(rec)
    end
    out[#out + 1] = rec
  else
    redis.call('ZREM', keys[j], id)
  end
end
return out
