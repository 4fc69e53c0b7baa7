/*
 * lua.h - the Lua scripts of the delayed queue (queues/delayed.c runs
 * them with EVALSHA). Each script works on the keys of one shard, so it
 * stays in one Redis Cluster slot, and reads the time from Redis (TIME)
 * unless the caller passes a "now" in milliseconds (an injected clock,
 * for tests).
 *
 * The keys of shard S (KEYS[] order in every script below):
 *   1 due      zset  id -> due time (ms)      waiting jobs
 *   2 lease    zset  id -> lease deadline (ms) claimed, in flight
 *   3 jobs     hash  id -> payload             every job that exists
 *   4 attempts hash  id -> claims so far       claimed at least once
 *   5 dead     zset  id -> time of death (ms)  dead letters
 *   6 errors   hash  id -> last error text     failed at least once
 * docs/redis.md describes them for operators.
 */
#ifndef NUDGE_QUEUE_LUA_H
#define NUDGE_QUEUE_LUA_H

/* ARGV: now, channel, then (id, payload, mode "in"|"at", time) per job.
 * Adds the jobs whose id is new; publishes on channel when one of them
 * is due before the shard's earliest job. Returns the number added. */
extern const char QUEUE_LUA_SCHEDULE[];

/* ARGV: now, max jobs, lease ms, max attempts. Returns reaped expired
 * leases back to due (or dead), then claims due jobs:
 * {now, expired, dead, next_in_ms, id, payload|nil, attempt, due, ...}.
 * next_in_ms is -1 when the shard holds nothing due or leased. */
extern const char QUEUE_LUA_CLAIM[];

/* ARGV: now, then (id, attempt) pairs. Returns how many were acked (a
 * pair whose lease was lost to another claim is skipped). */
extern const char QUEUE_LUA_ACK[];

/* ARGV: now, id, attempt, "retry"|"dead", delay ms, error, max attempts.
 * Returns 1 requeued, 2 dead, 0 lease lost. */
extern const char QUEUE_LUA_FAIL[];

/* ARGV: now, id, attempt, lease ms. Returns 1, or 0 when lease lost. */
extern const char QUEUE_LUA_EXTEND[];

/* ARGV: now, id, attempt, channel[, delay ms]. Gives a claimed job back
 * unhandled (a daemon stopping; a paused send): due now (+ delay), this
 * attempt not counted; with no delay, wakes the dispatchers. Returns 1,
 * or 0 when the lease was lost. */
extern const char QUEUE_LUA_RELEASE[];

/* ARGV: now, id. Returns 1 when the job existed (in any state). */
extern const char QUEUE_LUA_CANCEL[];

/* ARGV: now. Returns {now, pending, due now, in flight, dead, oldest due
 * time or -1}. */
extern const char QUEUE_LUA_STATS[];

/* ARGV: now, max. Returns (id, died at, attempts, error, payload) for
 * the oldest dead letters. */
extern const char QUEUE_LUA_DEAD_LIST[];

/* ARGV: now, id, channel. Moves a dead letter back to due now with its
 * attempts reset and wakes the dispatchers; returns 1, or 0 when id is not a
 * dead letter of this shard. */
extern const char QUEUE_LUA_RETRY_DEAD[];

#endif
