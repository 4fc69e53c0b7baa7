/*
 * timeline.h - a student's history of touches: the stream
 * slm:student:{ID}:timeline, one entry per thing that happened to them
 * (sent, failed, skipped, escalated, notified, followup, stage, tag,
 * assigned, optout, reply, ...). The field names are the contract of
 * docs/redis.md. The `to` field is masked here, whoever the caller is.
 */
#ifndef NUDGE_TIMELINE_H
#define NUDGE_TIMELINE_H

#include "core/redis.h"
#include "core/resp.h"

/* Fields left NULL are not written; step < 0 is not written. */
struct tl_entry {
    const char *type;
    const char *rule;
    int step;
    const char *channel;
    const char *template_name;
    const char *variant; /* the template a variant send chose */
    const char *to; /* the contact, masked before writing */
    const char *provider_id;
    const char *detail;
    const char *actor;
    const char *event_id; /* the slm:events id that caused it */
};

#define TL_ENTRY_INIT {.step = -1}

/* Adds the XADD (MAXLEN ~ maxlen) of the entry to r, for a caller that
 * sends many at once with rconn_append_resp(). Returns 0 or -1. */
int timeline_format(struct resp *r, const char *prefix, const char *student,
                    long maxlen, const struct tl_entry *e);
/* Queues the XADD (MAXLEN ~ maxlen) in rc's pipeline; read its reply with
 * rconn_reply() or rconn_discard(). Returns 0 or -1. */
int timeline_append_cmd(struct rconn *rc, const char *prefix,
                        const char *student, long maxlen,
                        const struct tl_entry *e);
/* Appends and waits for Redis. Returns 0 or -1 (rc->errstr). */
int timeline_append(struct rconn *rc, const char *prefix, const char *student,
                    long maxlen, const struct tl_entry *e);

#endif
