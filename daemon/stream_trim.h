/*
 * stream_trim.h - trims the events stream (slm:events) below what every
 * consumer group has acknowledged, keeping [retention] events (7d) for
 * replay and audit. The retention thread (daemon/retention.c) runs one
 * pass per [retention] interval.
 *
 * A pass reads every group of the stream (XINFO GROUPS: its
 * last-delivered-id) and the smallest id of each group's pending list
 * (XPENDING summary), and takes the group's safe point: its smallest
 * pending id, or else the id right after its last-delivered-id. Nothing
 * at or above the lowest safe point is removed, so an entry some group
 * has not read, or read and not acknowledged, stays. The cut is the lower
 * of that and "now - span" (as the id ms-0), and the pass sends XTRIM
 * stream MINID <cut> (exact: it removes what it says, no more and no
 * less). XINFO GROUPS's `lag` is not used: Redis 7.0 reports it wrong
 * after an AOF reload.
 *
 * With no group at all nothing is trimmed (nobody has said what it has
 * read). Several daemons may trim at once: XTRIM MINID is idempotent, and
 * a safe point only moves forward, so a pass computed a moment ago never
 * cuts above what a group has left. The one exception: a group created
 * (or moved back with XGROUP SETID) to an id below the cut, while a pass
 * is between its XINFO and its XTRIM, may find those entries gone, as if
 * it had been created just after the trim (docs/redis.md).
 */
#ifndef NUDGE_DAEMON_STREAM_TRIM_H
#define NUDGE_DAEMON_STREAM_TRIM_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/redis.h"

/* A stream entry id, ms-seq. */
struct stream_id {
    uint64_t ms, seq;
};

/* What a pass knows of one consumer group. */
struct trim_group {
    struct stream_id last_delivered;
    int has_pending;
    struct stream_id first_pending; /* when has_pending */
};

/* "ms-seq" or "ms" (seq 0). 0, or -1 when s is not an id. */
int stream_id_parse(const char *s, struct stream_id *id);
/* <0, 0, >0 as a is below, equal to, above b. */
int stream_id_cmp(struct stream_id a, struct stream_id b);
/* Writes "ms-seq" into buf (32 bytes is enough); returns buf. */
char *stream_id_format(struct stream_id id, char *buf, size_t n);

/* The lowest id a trim may keep (entries below it go): the lowest safe
 * point of the groups, and at most now_ms - span_ms. Returns 1 with *cut
 * set, or 0 when there is no group (trim nothing). */
int stream_trim_cut(const struct trim_group *groups, size_t n,
                    int64_t now_ms, int64_t span_ms, struct stream_id *cut);

struct stream_trim;

/* The trimmer of cfg's events stream (cfg borrowed; must outlive it), or
 * NULL on no memory. Registers its metrics. Free with stream_trim_free(). */
struct stream_trim *stream_trim_new(const struct config *cfg);
void stream_trim_free(struct stream_trim *t);
/* One pass on rc. Returns the entries removed, or -1 when Redis failed
 * (rc->errstr says why). */
long long stream_trim_pass(struct stream_trim *t, struct rconn *rc);

#endif
