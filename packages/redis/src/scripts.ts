import { luaScript } from './connection.js';

/** A batch's pub/sub message for one channel is cut after this many body bytes. */
export const BATCH_MESSAGE_BYTES = 65_536;

// Redis time, shared by every node: `<seconds><milliseconds>` as an exact decimal string (Lua 5.1
// numbers are doubles; string arithmetic avoids any float formatting of 13-digit values).
const NOW_MS = `
local t = redis.call('TIME')
local now = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
`;

/**
 * Publish: one atomic step per channel (DESIGN.md §1.2, §1.3).
 *
 * KEYS: 1 meta hash, 2 history stream, 3 idempotency key.
 * ARGV: 1 encoded body, 2 history size, 3 history ttl ms, 4 meta ttl ms, 5 candidate epoch (used
 * only when the meta is missing), 6 idempotency window ms (0 = no key), 7 pub/sub channel,
 * 8 sharded (1 = SPUBLISH: the channel must share the keys' hash tag, so it is on this shard).
 * Returns `{suppressed (0|1), offset, epoch}`.
 *
 * A missing meta means the stream was never used or was lost (expiry, flush, restart without
 * persistence): it restarts at offset 0 under a new epoch, and any history left from the old
 * epoch is deleted so offsets of two epochs never mix. The history stream uses `<offset>-0` as
 * its entry id, so `since` and reverse reads are plain XRANGE / XREVRANGE ranges.
 *
 * History size 0 (or ttl 0, e.g. the API's `skip_history`) assigns the offset and stores
 * nothing, leaving the retained history as it was: reads then see a hole at that offset, as with
 * the memory engine's history buffer.
 */
export const PUBLISH_SCRIPT = luaScript(`
local window = tonumber(ARGV[6])
if window > 0 then
  local prev = redis.call('GET', KEYS[3])
  if prev then
    local sep = string.find(prev, ':', 1, true)
    return {1, tonumber(string.sub(prev, 1, sep - 1)), string.sub(prev, sep + 1)}
  end
end
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[5]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 's', 0)
end
local offset = redis.call('HINCRBY', KEYS[1], 's', 1)
${NOW_MS}
local size = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local metaTtl = tonumber(ARGV[4])
if size > 0 and ttl > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', size, offset .. '-0', 't', now, 'b', ARGV[1])
  redis.call('PEXPIRE', KEYS[2], ttl)
  if ttl > metaTtl then metaTtl = ttl end
else
  -- Nothing stored (skip_history): the history kept so far stays, untouched, and the meta must
  -- outlive it so a read never sees history without its epoch.
  local kept = redis.call('PTTL', KEYS[2])
  if kept > metaTtl then metaTtl = kept end
end
redis.call('PEXPIRE', KEYS[1], metaTtl)
if window > 0 then
  redis.call('SET', KEYS[3], offset .. ':' .. epoch, 'PX', window)
end
redis.call(ARGV[8] == '1' and 'SPUBLISH' or 'PUBLISH', ARGV[7], 'p' .. offset .. ' ' .. now .. ' ' .. epoch .. ' ' .. ARGV[1])
return {0, offset, epoch}
`);

/**
 * History read, atomic with the top position it reports.
 *
 * KEYS: 1 meta hash, 2 history stream. ARGV: 1 candidate epoch, 2 meta ttl ms for a stream
 * created by this read, 3 reverse (0|1), 4 range bound (first id to include), 5 limit (0 = top
 * only, negative = all). Returns `{top, epoch, entries}` with entries as XRANGE returns them.
 *
 * A read of a channel with no meta creates it, so the epoch reported is the one the first
 * publish will use (HistoryStore contract).
 */
export const HISTORY_SCRIPT = luaScript(`
local meta = redis.call('HMGET', KEYS[1], 's', 'e')
local top = tonumber(meta[1])
local epoch = meta[2]
if not epoch then
  epoch = ARGV[1]
  top = 0
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 's', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local limit = tonumber(ARGV[5])
if limit == 0 then return {top, epoch, {}} end
local entries
if ARGV[3] == '1' then
  if limit > 0 then
    entries = redis.call('XREVRANGE', KEYS[2], '+', ARGV[4], 'COUNT', limit)
  else
    entries = redis.call('XREVRANGE', KEYS[2], '+', ARGV[4])
  end
elseif limit > 0 then
  entries = redis.call('XRANGE', KEYS[2], ARGV[4], '+', 'COUNT', limit)
else
  entries = redis.call('XRANGE', KEYS[2], ARGV[4], '+')
end
return {top, epoch, entries}
`);

/**
 * Presence add or refresh. KEYS: 1 info hash, 2 expiry zset. ARGV: 1 clientId, 2 encoded info,
 * 3 ttl ms. Both keys live at least as long as the longest entry, so an abandoned channel's
 * presence disappears by itself.
 */
export const PRESENCE_ADD_SCRIPT = luaScript(`
${NOW_MS}
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], tonumber(now) + ttl, ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
for i = 1, 2 do
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 0
`);

/**
 * Presence read: drops expired entries, then returns the info hash as `{clientId, info, ...}`.
 * KEYS: 1 info hash, 2 expiry zset.
 */
export const PRESENCE_GET_SCRIPT = luaScript(`
${NOW_MS}
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  -- unpack is bounded by the Lua C stack, so delete in chunks.
  for i = 1, #expired, 1000 do
    redis.call('HDEL', KEYS[1], unpack(expired, i, math.min(i + 999, #expired)))
  end
end
return redis.call('HGETALL', KEYS[1])
`);

/** Presence remove. KEYS: 1 info hash, 2 expiry zset. ARGV: 1 clientId. */
export const PRESENCE_REMOVE_SCRIPT = luaScript(`
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 0
`);

/**
 * Publish of several publications in one call: the body of `PUBLISH_SCRIPT` run once per item,
 * in order, under one Redis time (so one round trip carries a whole batch of a shard, and two
 * items of one channel get consecutive offsets in item order). Atomic per item exactly as the
 * single script; the whole call runs without interleaving other commands.
 *
 * The arguments name each channel and each retention setting once, not once per item (a batch
 * of 50 on 4 channels sends about 220 strings instead of 500, which the node encodes and Redis parses):
 *
 * KEYS: meta and history per channel (channel c at 2c-1, 2c), then one idempotency key per item
 * that has one. ARGV: 1 sharded (1|0), 2 candidate epoch (used by any channel of this call
 * without a meta; epochs only need to differ within one channel), 3 channel count C, 4 profile
 * count P; then C pub/sub channels; then P profiles of 4: history size, history ttl ms, meta ttl
 * ms, idempotency window ms; then 4 per item: body, channel (1..C), profile (1..P), idempotency
 * key (1.., counted after the channel keys; 0 = none). Returns `{suppressed, offset, epoch}` per
 * item, flat (3 values per item, in item order).
 *
 * Delivery: the publications of one channel in one call go out as one pub/sub message (the
 * receiving nodes parse one message instead of one per publication):
 * `P<first offset> <time> <epoch> ` followed by `<body length> <body>` per publication, at
 * consecutive offsets. A run of one publication is sent as the single script's `p` message, and
 * a run is cut after 64 KiB of bodies (`BATCH_MESSAGE_BYTES`) so a pub/sub message stays far
 * below Redis's client output buffer limit for subscribers (8 MB soft by default).
 */
export const PUBLISH_MANY_SCRIPT = luaScript(`
${NOW_MS}
local publishCommand = ARGV[1] == '1' and 'SPUBLISH' or 'PUBLISH'
local candidate = ARGV[2]
local nChannels = tonumber(ARGV[3])
local profileAt = 4 + nChannels
local itemAt = profileAt + tonumber(ARGV[4]) * 4
local out = {}
local epochs = {}
-- Per pub/sub channel, the run of publications not yet sent: consecutive offsets, one epoch.
local runs = {}
local pending = {}
local function send(ch)
  local run = runs[ch]
  if run == nil then return end
  runs[ch] = nil
  if run.n == 2 then
    redis.call(publishCommand, ch, 'p' .. run.first .. ' ' .. now .. ' ' .. run.epoch .. ' ' .. run.parts[2])
  else
    redis.call(publishCommand, ch, 'P' .. run.first .. ' ' .. now .. ' ' .. run.epoch .. ' ' .. table.concat(run.parts))
  end
end
for a = itemAt, #ARGV - 1, 4 do
  local body, c, p, k = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local kMeta, kHist = KEYS[c * 2 - 1], KEYS[c * 2]
  local q = profileAt + (p - 1) * 4
  local size, ttl, metaTtl = tonumber(ARGV[q + 1]), tonumber(ARGV[q + 2]), tonumber(ARGV[q + 3])
  local window = k > 0 and tonumber(ARGV[q + 4]) or 0
  local kIdem = k > 0 and KEYS[nChannels * 2 + k] or nil
  local prev = window > 0 and redis.call('GET', kIdem) or nil
  if prev then
    local sep = string.find(prev, ':', 1, true)
    out[#out + 1] = 1
    out[#out + 1] = tonumber(string.sub(prev, 1, sep - 1))
    out[#out + 1] = string.sub(prev, sep + 1)
  else
    local epoch = epochs[c]
    if epoch == nil then
      epoch = redis.call('HGET', kMeta, 'e')
      if not epoch then
        epoch = candidate
        redis.call('DEL', kHist)
        redis.call('HSET', kMeta, 'e', epoch, 's', 0)
      end
      epochs[c] = epoch
    end
    local offset = redis.call('HINCRBY', kMeta, 's', 1)
    if size > 0 and ttl > 0 then
      redis.call('XADD', kHist, 'MAXLEN', size, offset .. '-0', 't', now, 'b', body)
      redis.call('PEXPIRE', kHist, ttl)
      if ttl > metaTtl then metaTtl = ttl end
    else
      local kept = redis.call('PTTL', kHist)
      if kept > metaTtl then metaTtl = kept end
    end
    redis.call('PEXPIRE', kMeta, metaTtl)
    if window > 0 then
      redis.call('SET', kIdem, offset .. ':' .. epoch, 'PX', window)
    end
    local ch = ARGV[4 + c]
    local run = runs[ch]
    if run ~= nil and (run.nextOffset ~= offset or run.bytes >= ${BATCH_MESSAGE_BYTES}) then
      send(ch)
      run = nil
    end
    if run == nil then
      run = {first = offset, epoch = epoch, parts = {}, n = 0, bytes = 0}
      runs[ch] = run
      pending[#pending + 1] = ch
    end
    run.parts[run.n + 1] = #body .. ' '
    run.parts[run.n + 2] = body
    run.n = run.n + 2
    run.bytes = run.bytes + #body
    run.nextOffset = offset + 1
    out[#out + 1] = 0
    out[#out + 1] = offset
    out[#out + 1] = epoch
  end
end
for _, ch in ipairs(pending) do send(ch) end
return out
`);
