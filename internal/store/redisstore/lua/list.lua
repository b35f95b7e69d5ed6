-- ListUserSessions and DeleteUserSessions. KEYS[1]: u:<user>. ARGV[2]:
-- the user, ARGV[3]: "1" to delete, ARGV[4]: the id to keep when deleting
-- ("" for none). Returns the records (HGETALL pairs) oldest first: the
-- sorted set orders by CreatedAt, then by id. Entries whose record is gone
-- (expired by Redis) are dropped on the way; their entries in x go with
-- the next sweep.
local uid, del, keep = ARGV[2], ARGV[3] == '1', ARGV[4]
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local rec = owned(id, 'u', uid)
  if not rec then
    redis.call('ZREM', KEYS[1], id)
  elseif not del then
    out[#out + 1] = rec
  elseif id ~= keep then
    remove(rec)
    out[#out + 1] = rec
  end
end
return out
