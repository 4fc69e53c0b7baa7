/*
 * defer.h - the jobs that runs started by a batch of events queue (a step
 * after a wait, or a message step, which never runs on the events path),
 * collected while the consumer hands the batch's events to the engine and
 * written in one go before the batch is acknowledged: one round trip for
 * the runs' state, one per queue shard for the jobs, and one wake-up for
 * the dispatchers, instead of two round trips and a wake-up per event.
 *
 * If nudged dies before the write, the batch is not acknowledged either:
 * its events are handled again, and their runs (whose ids derive from the
 * events) queue the same jobs.
 *
 * Ownership: run_defer_add() copies what it is given; run_defer_flush()
 * writes and empties. One per thread.
 */
#ifndef NUDGE_RULES_DEFER_H
#define NUDGE_RULES_DEFER_H

#include <stddef.h>
#include <stdint.h>

#include "core/redis.h"
#include "core/resp.h"
#include "queues/delayed.h"

struct run_defer;

struct run_defer *run_defer_new(void);
void run_defer_free(struct run_defer *d);
/* Adds a job (id, payload, due delay_ms from now) and, when runs_key is
 * not NULL, the HSET runs_key rule value that records its run first.
 * 0 or -1 (no memory). */
int run_defer_add(struct run_defer *d, const char *runs_key, const char *rule,
                  const char *value, const char *id, const char *payload,
                  int64_t delay_ms);
/* Writes what was added: the HSETs, then the jobs (q, over rc). 0, or -1
 * with the reason in err (then nothing may be acknowledged). Empties d
 * either way. */
int run_defer_flush(struct run_defer *d, struct rconn *rc, struct queue *q,
                    char *err, size_t n);
/* Jobs and other commands waiting (0: nothing to flush). */
size_t run_defer_count(const struct run_defer *d);
/* Where a caller queues other commands to send with the runs' state (the
 * report's counters, rules/report.h), adding replies to the replies they
 * will have; the flush reads them (an error reply fails it). */
struct resp *run_defer_more(struct run_defer *d, int replies);

#endif
