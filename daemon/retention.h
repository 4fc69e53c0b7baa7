/*
 * retention.h - the daemon's background trimming: timelines ([retention]
 * timeline: entries older than the retention go, a few students per
 * tick; docs/policy.md, "Retention and erasure") and the events stream
 * ([retention] events: what every consumer group has acknowledged and is
 * older than the span; daemon/stream_trim.h).
 *
 * One thread with its own Redis connection does one step of each per
 * [retention] interval. For the timelines it walks the keyspace with SCAN
 * MATCH prefix + "student:{*}:timeline" COUNT students_per_tick and sends
 * XTRIM key MINID <now - retention> for the timelines of that step in one
 * pipeline. Each XTRIM costs the entries it removes (the stream's radix
 * tree drops whole nodes), so Redis is never busy for long; the walk
 * starts over when SCAN's cursor comes back to 0. Every daemon trims on
 * its own: trimming twice is harmless.
 */
#ifndef NUDGE_DAEMON_RETENTION_H
#define NUDGE_DAEMON_RETENTION_H

#include "core/config.h"

struct retention;

/* Starts the thread; NULL when it could not (logged). Stops when *stop
 * is set. */
struct retention *retention_start(const struct config *cfg,
                                  volatile int *stop);
/* Waits for the thread and frees; NULL is fine. */
void retention_join(struct retention *rt);

#endif
