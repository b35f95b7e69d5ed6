-- CountSessions for one key base. KEYS[1]: x. ARGV[2]: the lower bound of
-- the scores to count ("(<now ms>"). Returns the entries of every bucket
-- of the expiry index above it.
local n = 0
for b = 0, 2 ^ level() - 1 do
  n = n + redis.call('ZCOUNT', xkey(b), ARGV[2], '+inf')
end
return n
