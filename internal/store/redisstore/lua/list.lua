-- ListUserSessions and DeleteUserSessions. KEYS[1]: u:<user> (bucket 0
-- of the user's index; the others are read from its level). ARGV[2]: the
-- user, ARGV[3]: "1" to delete, ARGV[4]: the id to keep when deleting
-- ("" for none). Returns the records (HGETALL pairs), in no particular
-- order across buckets (the caller sorts by CreatedAt, then id). Entries
-- whose record is gone (expired by Redis) are dropped on the way; their
-- entries in x go with the next sweep.
local uid, del, keep = ARGV[2], ARGV[3] == '1', ARGV[4]
local out = {}
local ids, keys = ownerIDs('u', uid)
for j, id in ipairs(ids) do
  local rec = owned(id, 'u', uid)
  if not rec then
    redis.call('ZREM', keys[j], id)
  elseif not del then
    out[#out + 1] = rec
  elseif id ~= keep then
    remove(rec)
    out[#out + 1] = rec
  end
end
return out
