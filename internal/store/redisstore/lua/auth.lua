-- UpdateSessionAuth. KEYS[1]: r:<id>. ARGV[2]: id, ARGV[3]: AuthMethods
-- (space separated, '' for none), ARGV[4]: AuthTime (ms, '' for none),
-- ARGV[5]: EnrolmentOnly ('1', or '' for false). Empty values are removed,
-- as recordFields leaves them out. Returns 0 if there is no record, else 1.
local hk = home(ARGV[2])
if not hk then return 0 end
local names = {'am', 'at', 'eo'}
for i, name in ipairs(names) do
  local v = ARGV[i + 2]
  if v == '' then redis.call('HDEL', hk, name) else redis.call('HSET', hk, name, v) end
end
return 1
