/*
 * lua.c - the text of the delayed queue's Lua scripts (see lua.h). They
 * share one prelude: effects replication (so TIME may precede writes on
 * old Redis versions) and the clock.
 */
#include "queues/lua.h"

/* Lua reads best one statement a line: clang-format would pack it. */
/* clang-format off */

#define PRELUDE                                                              \
    "pcall(redis.replicate_commands)\n"                                      \
    "local function clock(arg)\n"                                            \
    "  if arg ~= '' then return tonumber(arg) end\n"                         \
    "  local t = redis.call('TIME')\n"                                       \
    "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"   \
    "end\n"                                                                  \
    "local now = clock(ARGV[1])\n"

const char QUEUE_LUA_SCHEDULE[] = PRELUDE
    "local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
    "local earliest = first[2] and tonumber(first[2]) or nil\n"
    "local added, wake = 0, false\n"
    "for i = 3, #ARGV, 4 do\n"
    "  local id = ARGV[i]\n"
    "  if redis.call('HSETNX', KEYS[3], id, ARGV[i + 1]) == 1 then\n"
    "    local due = tonumber(ARGV[i + 3])\n"
    "    if ARGV[i + 2] == 'in' then due = now + due end\n"
    "    redis.call('ZADD', KEYS[1], due, id)\n"
    "    added = added + 1\n"
    "    if earliest == nil or due < earliest then\n"
    "      earliest = due\n"
    "      wake = true\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if wake then redis.call('PUBLISH', ARGV[2], '1') end\n"
    "return added\n";

/* The leases of a batch end 1 ms apart, the first claimed last (the
 * last one's is the lease, the others' up to a ms per job longer): Redis
 * keeps a small lease zset as a flat list and walks it to each insertion
 * point, so that order puts each new member first among its batch
 * instead of after all of it (equal scores are ordered by member, walked
 * one by one): at a batch of 100 into an empty lease zset, the claim
 * takes half the time in Redis. */
const char QUEUE_LUA_CLAIM[] = PRELUDE
    "local n = tonumber(ARGV[2])\n"
    "local lease = tonumber(ARGV[3])\n"
    "local maxa = tonumber(ARGV[4])\n"
    "local nexp, ndead = 0, 0\n"
    "local late = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now,\n"
    "                        'LIMIT', 0, n)\n"
    "for _, id in ipairs(late) do\n"
    "  redis.call('ZREM', KEYS[2], id)\n"
    "  local a = tonumber(redis.call('HGET', KEYS[4], id) or '0')\n"
    "  if a >= maxa then\n"
    "    redis.call('ZADD', KEYS[5], now, id)\n"
    "    redis.call('HSET', KEYS[6], id, 'lease expired on attempt ' .. a)\n"
    "    ndead = ndead + 1\n"
    "  else\n"
    "    redis.call('ZADD', KEYS[1], now, id)\n"
    "  end\n"
    "  nexp = nexp + 1\n"
    "end\n"
    "local out = {now, nexp, ndead, -1}\n"
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now,\n"
    "                       'WITHSCORES', 'LIMIT', 0, n)\n"
    "if #due > 0 then\n"
    "  local ids, leased = {}, {}\n"
    "  for i = 1, #due, 2 do\n"
    "    ids[#ids + 1] = due[i]\n"
    "    leased[#leased + 1] = now + lease + #due / 2 - #ids\n"
    "    leased[#leased + 1] = due[i]\n"
    "  end\n"
    "  redis.call('ZREM', KEYS[1], unpack(ids))\n"
    "  redis.call('ZADD', KEYS[2], unpack(leased))\n"
    "  local payloads = redis.call('HMGET', KEYS[3], unpack(ids))\n"
    "  local before = redis.call('HMGET', KEYS[4], unpack(ids))\n"
    "  local counted = {}\n"
    "  for i, id in ipairs(ids) do\n"
    "    local a = tonumber(before[i] or '0') + 1\n"
    "    counted[#counted + 1] = id\n"
    "    counted[#counted + 1] = a\n"
    "    out[#out + 1] = id\n"
    "    out[#out + 1] = payloads[i]\n"
    "    out[#out + 1] = a\n"
    "    out[#out + 1] = tonumber(due[2 * i])\n"
    "  end\n"
    "  redis.call('HSET', KEYS[4], unpack(counted))\n"
    "end\n"
    "local nd = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
    "local nl = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')\n"
    "local next = nil\n"
    "if nd[2] then next = tonumber(nd[2]) end\n"
    "if nl[2] and (next == nil or tonumber(nl[2]) < next) then\n"
    "  next = tonumber(nl[2])\n"
    "end\n"
    "if next then out[4] = math.max(next - now, 0) end\n"
    "return out\n";

#define OWNED                                                                \
    "local function owned(id, attempt)\n"                                    \
    "  return redis.call('ZSCORE', KEYS[2], id) and\n"                       \
    "         redis.call('HGET', KEYS[4], id) == attempt\n"                  \
    "end\n"

/* A pair is ours when its job is leased and its attempt is the one we
 * claimed. The attempts are compared first; ZREM then takes the matching
 * ones off the lease, and when it took them all (always, unless a lease
 * expired) no other lookup is needed. Otherwise those that were not
 * leased are in due or dead (a job is in one of the three) and are not
 * ours. */
const char QUEUE_LUA_ACK[] = PRELUDE
    "local ids = {}\n"
    "for i = 2, #ARGV, 2 do ids[#ids + 1] = ARGV[i] end\n"
    "if #ids == 0 then return 0 end\n"
    "local att = redis.call('HMGET', KEYS[4], unpack(ids))\n"
    "local mine = {}\n"
    "for i, id in ipairs(ids) do\n"
    "  if att[i] == ARGV[2 * i + 1] then mine[#mine + 1] = id end\n"
    "end\n"
    "if #mine == 0 then return 0 end\n"
    "local acked = redis.call('ZREM', KEYS[2], unpack(mine))\n"
    "if acked < #mine then\n"
    "  local leased = {}\n"
    "  for _, id in ipairs(mine) do\n"
    "    if not redis.call('ZSCORE', KEYS[1], id) and\n"
    "       not redis.call('ZSCORE', KEYS[5], id) then\n"
    "      leased[#leased + 1] = id\n"
    "    end\n"
    "  end\n"
    "  mine = leased\n"
    "  if #mine == 0 then return 0 end\n"
    "end\n"
    "redis.call('HDEL', KEYS[3], unpack(mine))\n"
    "redis.call('HDEL', KEYS[4], unpack(mine))\n"
    "redis.call('HDEL', KEYS[6], unpack(mine))\n"
    "return acked\n";

const char QUEUE_LUA_FAIL[] = PRELUDE OWNED
    "local id, attempt = ARGV[2], ARGV[3]\n"
    "if not owned(id, attempt) then return 0 end\n"
    "redis.call('ZREM', KEYS[2], id)\n"
    "redis.call('HSET', KEYS[6], id, ARGV[6])\n"
    "if ARGV[4] == 'retry' and tonumber(attempt) < tonumber(ARGV[7]) then\n"
    "  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[5]), id)\n"
    "  return 1\n"
    "end\n"
    "redis.call('ZADD', KEYS[5], now, id)\n"
    "return 2\n";

const char QUEUE_LUA_EXTEND[] = PRELUDE OWNED
    "if not owned(ARGV[2], ARGV[3]) then return 0 end\n"
    "redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[4]), ARGV[2])\n"
    "return 1\n";

const char QUEUE_LUA_RELEASE[] = PRELUDE OWNED
    "local id = ARGV[2]\n"
    "if not owned(id, ARGV[3]) then return 0 end\n"
    "redis.call('ZREM', KEYS[2], id)\n"
    "local delay = tonumber(ARGV[5] or '0')\n"
    "redis.call('ZADD', KEYS[1], now + delay, id)\n"
    "if redis.call('HINCRBY', KEYS[4], id, -1) <= 0 then\n"
    "  redis.call('HDEL', KEYS[4], id)\n"
    "end\n"
    "if delay == 0 then redis.call('PUBLISH', ARGV[4], '1') end\n"
    "return 1\n";

const char QUEUE_LUA_CANCEL[] = PRELUDE
    "local id = ARGV[2]\n"
    "local existed = redis.call('HDEL', KEYS[3], id)\n"
    "redis.call('ZREM', KEYS[1], id)\n"
    "redis.call('ZREM', KEYS[2], id)\n"
    "redis.call('ZREM', KEYS[5], id)\n"
    "redis.call('HDEL', KEYS[4], id)\n"
    "redis.call('HDEL', KEYS[6], id)\n"
    "return existed\n";

const char QUEUE_LUA_STATS[] = PRELUDE
    "local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
    "return {now, redis.call('ZCARD', KEYS[1]),\n"
    "        redis.call('ZCOUNT', KEYS[1], '-inf', now),\n"
    "        redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[5]),\n"
    "        first[2] and tonumber(first[2]) or -1}\n";

const char QUEUE_LUA_DEAD_LIST[] = PRELUDE
    "local out = {}\n"
    "local dead = redis.call('ZRANGE', KEYS[5], 0, tonumber(ARGV[2]) - 1,\n"
    "                        'WITHSCORES')\n"
    "for i = 1, #dead, 2 do\n"
    "  local id = dead[i]\n"
    "  out[#out + 1] = id\n"
    "  out[#out + 1] = tonumber(dead[i + 1])\n"
    "  out[#out + 1] = tonumber(redis.call('HGET', KEYS[4], id) or '0')\n"
    "  out[#out + 1] = redis.call('HGET', KEYS[6], id) or ''\n"
    "  out[#out + 1] = redis.call('HGET', KEYS[3], id) or ''\n"
    "end\n"
    "return out\n";

const char QUEUE_LUA_RETRY_DEAD[] = PRELUDE
    "local id = ARGV[2]\n"
    "if redis.call('ZREM', KEYS[5], id) == 0 then return 0 end\n"
    "redis.call('HDEL', KEYS[4], id)\n"
    "redis.call('ZADD', KEYS[1], now, id)\n"
    "redis.call('PUBLISH', ARGV[3], '1')\n"
    "return 1\n";
/* clang-format on */
