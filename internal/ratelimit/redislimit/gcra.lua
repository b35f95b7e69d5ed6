-- GCRA for one key, in one atomic step. KEYS[1]: the key's state, its
-- theoretical arrival time (TAT) as "<unix seconds>:<nanoseconds>".
-- ARGV[1], ARGV[2]: now, as unix seconds and nanoseconds; ARGV[3]: the
-- interval in nanoseconds; ARGV[4]: Max; ARGV[5]: "1" to record a failure,
-- "0" to only decide.
--
-- Lua numbers are doubles, exact to 2^53: a unix time in nanoseconds is
-- not, so times stay split, and only differences from now (at most the
-- window, which New bounds) are taken in nanoseconds.
--
-- Returns 0 if the key may attempt now, else the nanoseconds to wait.
local now_s, now_ns = tonumber(ARGV[1]), tonumber(ARGV[2])
local interval, max = tonumber(ARGV[3]), tonumber(ARGV[4])

-- ahead: how far the TAT lies after now, in nanoseconds; 0 if not after.
local ahead = 0
local v = redis.call('GET', KEYS[1])
if v then
  local s, ns = string.match(v, '^(%-?%d+):(%d+)$')
  if s then
    local ds, dns = tonumber(s) - now_s, tonumber(ns) - now_ns
    if ds > 0 or (ds == 0 and dns > 0) then ahead = ds * 1e9 + dns end
  end
end

if ARGV[5] == '1' then
  -- One more interval, but never more than Max intervals after now, so
  -- failures while refused do not lengthen the wait.
  ahead = math.min(ahead + interval, max * interval)
  local t = now_ns + ahead
  local carry = math.floor(t / 1e9)
  -- The state matters only until the TAT: Redis reclaims it then.
  redis.call('SET', KEYS[1], string.format('%d:%d', now_s + carry, t - carry * 1e9),
    'PX', string.format('%d', math.ceil(ahead / 1e6)))
end

local over = ahead - (max - 1) * interval
if over <= 0 then return 0 end
return over
