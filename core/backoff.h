/*
 * backoff.h - how long to wait before trying again: exponential, capped,
 * with jitter so that many daemons (or many jobs) do not retry in step.
 * Used by the Redis reconnect loop and by the queue's retries.
 */
#ifndef NUDGE_BACKOFF_H
#define NUDGE_BACKOFF_H

#include <stdint.h>

/* The exponential ceiling: min(cap, base * 2^attempt), attempt from 0. */
int64_t backoff_ceiling(int64_t base_ms, int64_t cap_ms, int attempt);
/* "Full jitter": uniform in [0, ceiling]. r is uniform in [0, 1). */
int64_t backoff_full_jitter(int64_t base_ms, int64_t cap_ms, int attempt,
                            double r);
/* "Equal jitter": ceiling/2 plus uniform in [0, ceiling/2]; never near
 * zero, which a reconnect loop needs so that it can never spin. */
int64_t backoff_equal_jitter(int64_t base_ms, int64_t cap_ms, int attempt,
                             double r);
/* A uniform double in [0, 1) from a per-thread generator. */
double backoff_random(void);

#endif
