-- UpdateSessionData's read and its compare-and-set write. KEYS[1]:
-- r:<id>. ARGV[2]: id, ARGV[3]: the version the update was computed from,
-- or "" to only read, ARGV[4]: the new data. Returns an empty array if
-- there is no record; {"current", data, version} when only reading, or if
-- another write came first (so the caller can try again without reading
-- again); else the updated record's HGETALL pairs.
local hk = home(ARGV[2])
if not hk then return {} end
local cur = redis.call('HMGET', hk, 'd', 'v')
if ARGV[3] ~= cur[2] then return {'current', cur[1], cur[2]} end
redis.call('HSET', hk, 'd', ARGV[4])
redis.call('HINCRBY', hk, 'v', 1)
return record(hk)
