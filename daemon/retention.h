/*
 * retention.h - the daemon's background trimming of timelines ([retention]
 * timeline): entries older than the retention go, a few students per tick
 * (docs/policy.md, "Retention and erasure").
 *
 * One thread with its own Redis connection walks the keyspace with SCAN
 * MATCH prefix + "student:{*}:timeline" COUNT students_per_tick, one step
 * per [retention] interval, and sends XTRIM key MINID <now - retention>
 * for the timelines of that step in one pipeline. Each XTRIM costs the
 * entries it removes (the stream's radix tree drops whole nodes), so
 * Redis is never busy for long; the walk starts over when SCAN's cursor
 * comes back to 0. Every daemon walks on its own: trimming twice is
 * harmless.
 */
#ifndef NUDGE_DAEMON_RETENTION_H
#define NUDGE_DAEMON_RETENTION_H

#include "core/config.h"

struct retention;

/* Starts the thread when cfg retention.timeline_ms > 0; NULL otherwise
 * (or when it could not start: logged). Stops when *stop is set. */
struct retention *retention_start(const struct config *cfg,
                                  volatile int *stop);
/* Waits for the thread and frees; NULL is fine. */
void retention_join(struct retention *rt);

#endif
