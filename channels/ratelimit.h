/*
 * ratelimit.h - a sliding-window limiter per key ("at most 30 messages a
 * minute to one WeCom member, 20 to one group robot"), for drivers whose
 * provider silently drops what goes over its limit. Nothing is ever
 * refused: ratelimit_reserve() answers when a send may start, and the
 * driver holds the send until then (httpc's not_before_ms).
 *
 *   key "zhangwei":  |x x x ... x|       window       |x  <- the 31st send
 *                    t0          (30 sends)           t0 + window + guard
 *
 * A reservation counts from the moment it is granted, so the times
 * handed out for one key never go backwards and a key's last `limit`
 * reservations are all it needs to remember. A key whose newest
 * reservation left the window is forgotten (swept once per window), so
 * memory follows the keys in use, not every key ever seen.
 *
 * Time is passed in (milliseconds on any monotonic clock): tests give
 * their own. Not thread-safe: the caller holds its own lock.
 */
#ifndef NUDGE_CHANNELS_RATELIMIT_H
#define NUDGE_CHANNELS_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/* At most limit reservations per key in any window_ms, each window
 * stretched by guard_ms (room for the network's jitter between our
 * clock and the provider's). NULL on no memory or limit < 1. Freed with
 * ratelimit_free(). */
struct ratelimit *ratelimit_new(int limit, int64_t window_ms, int64_t guard_ms);
void ratelimit_free(struct ratelimit *rl);

/* Reserves a slot for key: returns the time (>= now_ms) at which the send
 * may start, and counts it. -1 on no memory (nothing reserved). */
int64_t ratelimit_reserve(struct ratelimit *rl, const char *key,
                          int64_t now_ms);

/* Keys remembered now (for tests: memory stays bounded). */
size_t ratelimit_keys(const struct ratelimit *rl);

/* Parses a limit: "30/m", "20/m", "5/s", "1000/h", or N over a duration,
 * "10/2s", "3/500ms". 0 with *limit and *window_ms set, or -1. */
int ratelimit_parse(const char *s, int *limit, int64_t *window_ms);

#endif
