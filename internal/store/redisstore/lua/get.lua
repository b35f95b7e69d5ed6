-- GetSession. KEYS[1]: r:<id>. ARGV[2]: id. Returns the record's HGETALL
-- pairs, empty if there is none.
local hk = home(ARGV[2])
if not hk then return {} end
return record(hk)
