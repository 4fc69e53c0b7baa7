/*
 * event_write.h - writing an event as an integrator would: the student
 * data the event implies and the event itself, in one MULTI/EXEC, so that
 * no daemon ever sees one without the other. `nudgectl emit` and nudged's
 * one-click unsubscribe endpoint write through it.
 *
 *   created   its fields are the student's attributes (HSET)
 *   stage     HSET stage, stage_at (now)
 *   tag       SADD tags               untag  SREM tags
 *   assigned  HSET owner
 *   optout    SADD optout
 *   followup, reply and custom types: the event only
 */
#ifndef NUDGE_EVENT_WRITE_H
#define NUDGE_EVENT_WRITE_H

#include <stddef.h>

#include "core/event.h"
#include "core/redis.h"

/* Writes ev (checked, e.g. by event_from_args()) under prefix. Returns 0
 * with the new stream id in id (idlen bytes), or -1 with why in err (a
 * Redis error reply, or the connection's error). */
int event_write(struct rconn *rc, const char *prefix, const struct event *ev,
                char *id, size_t idlen, char *err, size_t errlen);

/* 1 when the student's hash exists, 0 when not, -1 on a Redis failure:
 * data for a student the CRM never created is a typo, not an event. */
int event_student_exists(struct rconn *rc, const char *prefix,
                         const char *student);

#endif
