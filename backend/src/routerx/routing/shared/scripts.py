"""Lua scripts for the shared breaker state; each runs atomically inside Redis.

State hash fields: gen, state ('open' | 'closed'), opened_at, open_until (wall seconds),
reopen, round, leader, lease_until. `gen` grows by one on every shared transition, so
"exactly one transition" is observable as exactly one generation step. A shared
half-open is an 'open' state whose open_until has passed. Times come from the callers'
wall clocks (ARGV), never from Redis, so tests can drive them with a fake clock.
"""

from __future__ import annotations

# Shared helpers, prepended to every script.
_PRELUDE = """
local function keep_for(key, open_until, now, ttl_s)
  local ms = math.floor((math.max(open_until - now, 0) + ttl_s) * 1000)
  redis.call('PEXPIRE', key, ms)
end
local function index_open(index, member, open_until, now, ttl_s)
  redis.call('ZADD', index, open_until, member)
  local ms = math.floor((math.max(open_until - now, 0) + ttl_s) * 1000)
  if redis.call('PTTL', index) < ms then redis.call('PEXPIRE', index, ms) end
end
"""

# KEYS: window, state, index
# ARGV: now, window_s, ttl_s, member, renew_gen ('' = none), renew_round, leader, lease_s,
#       then (second, calls, failures) triples to add to the window.
# Returns: calls, failures, then the state fields (nil when there is no shared state).
SYNC = (
    _PRELUDE
    + """
local now = tonumber(ARGV[1])
local oldest_kept = math.floor(now) - tonumber(ARGV[2]) + 1
local ttl_s = tonumber(ARGV[3])
local pushed = false
for i = 9, #ARGV, 3 do
  if tonumber(ARGV[i]) >= oldest_kept then
    redis.call('HINCRBY', KEYS[1], 'c' .. ARGV[i], ARGV[i + 1])
    if ARGV[i + 2] ~= '0' then
      redis.call('HINCRBY', KEYS[1], 'f' .. ARGV[i], ARGV[i + 2])
    end
    pushed = true
  end
end
if pushed then
  redis.call('PEXPIRE', KEYS[1], (tonumber(ARGV[2]) + 60) * 1000)
end
local calls, failures, stale = 0, 0, {}
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local field = fields[i]
  if tonumber(string.sub(field, 2)) < oldest_kept then
    stale[#stale + 1] = field
  elseif string.sub(field, 1, 1) == 'c' then
    calls = calls + tonumber(fields[i + 1])
  else
    failures = failures + tonumber(fields[i + 1])
  end
end
if #stale > 0 then redis.call('HDEL', KEYS[1], unpack(stale)) end
local st = redis.call('HMGET', KEYS[2], 'gen', 'state', 'opened_at', 'open_until', 'reopen',
  'round', 'leader', 'lease_until')
if st[2] == 'open' then
  if ARGV[5] ~= '' and st[1] == ARGV[5] and st[6] == ARGV[6] and st[7] == ARGV[7] then
    st[8] = string.format('%.3f', now + tonumber(ARGV[8]))
    redis.call('HSET', KEYS[2], 'lease_until', st[8])
  end
  keep_for(KEYS[2], tonumber(st[4]), now, ttl_s)
  index_open(KEYS[3], ARGV[4], tonumber(st[4]), now, ttl_s)
else
  redis.call('ZREM', KEYS[3], ARGV[4])
end
return {tostring(calls), tostring(failures), st[1], st[2], st[3], st[4], st[5], st[6], st[7],
  st[8]}
"""
)

# KEYS: state, index
# ARGV: expected_gen, now, opened_at, open_until, reopen, ttl_s, member
# Opens unless the shared breaker is already open: a running open period always wins,
# and a half-open one may only be re-opened by a process that saw that generation.
# Returns the new generation, or 0 if another process's open stands.
TRY_OPEN = (
    _PRELUDE
    + """
local st = redis.call('HMGET', KEYS[1], 'gen', 'state', 'open_until')
local gen = tonumber(st[1]) or 0
local now = tonumber(ARGV[2])
if st[2] == 'open' and (now < tonumber(st[3]) or gen ~= tonumber(ARGV[1])) then
  return 0
end
gen = gen + 1
redis.call('HSET', KEYS[1], 'gen', gen, 'state', 'open', 'opened_at', ARGV[3],
  'open_until', ARGV[4], 'reopen', ARGV[5], 'round', 0, 'leader', '', 'lease_until', 0)
keep_for(KEYS[1], tonumber(ARGV[4]), now, tonumber(ARGV[6]))
index_open(KEYS[2], ARGV[7], tonumber(ARGV[4]), now, tonumber(ARGV[6]))
return gen
"""
)

# KEYS: state, index
# ARGV: gen, open_until, now, ttl_s, member
# Pushes open_until later (a Retry-After seen while open). Returns gen, or 0 if not applied.
EXTEND = (
    _PRELUDE
    + """
local st = redis.call('HMGET', KEYS[1], 'gen', 'state', 'open_until')
if st[1] ~= ARGV[1] or st[2] ~= 'open' or tonumber(ARGV[2]) <= tonumber(st[3]) then
  return 0
end
redis.call('HSET', KEYS[1], 'open_until', ARGV[2])
keep_for(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
index_open(KEYS[2], ARGV[5], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
return tonumber(st[1])
"""
)

# KEYS: state
# ARGV: gen, now, leader, lease_s
# Hands the whole probe round of a half-open breaker to one process, unless another
# process holds a live lease on it. Returns the round number, or 0.
CLAIM_ROUND = """
local st = redis.call('HMGET', KEYS[1], 'gen', 'state', 'open_until', 'round', 'leader',
  'lease_until')
local now = tonumber(ARGV[2])
if st[1] ~= ARGV[1] or st[2] ~= 'open' or now < tonumber(st[3]) then return 0 end
if st[5] and st[5] ~= '' and now < tonumber(st[6]) then return 0 end
local round = (tonumber(st[4]) or 0) + 1
redis.call('HSET', KEYS[1], 'round', round, 'leader', ARGV[3],
  'lease_until', string.format('%.3f', now + tonumber(ARGV[4])))
return round
"""

# KEYS: state, window, index
# ARGV: gen, now, leader, ttl_s, member
# Closes a half-open breaker after its probes succeeded, unless another process holds a
# live probe lease. Returns the new generation, or 0.
CLOSE = """
local st = redis.call('HMGET', KEYS[1], 'gen', 'state', 'open_until', 'leader', 'lease_until')
local now = tonumber(ARGV[2])
if st[1] ~= ARGV[1] or st[2] ~= 'open' or now < tonumber(st[3]) then return 0 end
if st[4] and st[4] ~= '' and st[4] ~= ARGV[3] and now < tonumber(st[5]) then return 0 end
local gen = tonumber(st[1]) + 1
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'gen', gen, 'state', 'closed')
redis.call('PEXPIRE', KEYS[1], math.floor(tonumber(ARGV[4]) * 1000))
redis.call('ZREM', KEYS[3], ARGV[5])
return gen
"""

# KEYS: state, window, index
# ARGV: ttl_s, member
# Unconditional close (admin reset). Returns the new generation.
RESET = """
local gen = (tonumber(redis.call('HGET', KEYS[1], 'gen')) or 0) + 1
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'gen', gen, 'state', 'closed')
redis.call('PEXPIRE', KEYS[1], math.floor(tonumber(ARGV[1]) * 1000))
redis.call('ZREM', KEYS[3], ARGV[2])
return gen
"""
