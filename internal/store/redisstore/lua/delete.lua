-- DeleteSession. KEYS[1]: r:<id>. ARGV[2]: id. Returns 0 if there is no
-- record, else 1.
local hk = home(ARGV[2])
if not hk then return 0 end
local f = redis.call('HMGET', hk, 'id', 'sh', 'u', 'c')
unlink(f[1], f[2] or shOf(hk), f[3], f[4])
return 1
