/*
 * alert_int.h - what the two halves of grouped alerts share: alert.c
 * (groups in Redis, the escalate step) and alert_job.c (the job that
 * sends a batch). Nothing else reads it.
 */
#ifndef NUDGE_RULES_ALERT_INT_H
#define NUDGE_RULES_ALERT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "channels/channel.h"
#include "core/config.h"
#include "core/keys.h"
#include "core/redis.h"
#include "core/student.h"
#include "queues/dispatcher.h"
#include "rules/alert_render.h"
#include "templates/tmpl.h"

/* One group's names: its id STAFF:LEVEL:CHANNEL is the hash tag of all
 * its keys (docs/redis.md), so a group lives in one Redis Cluster slot. */
struct alert_group {
    char id[224]; /* ids are at most 128 bytes (key_valid_id) */
    char staff[129];
    long level;
    char channel[72];
    char meta[KEY_MAX];    /* hash: seq, batch, due, first, last_sent,
                              frozen, template */
    char leads[KEY_MAX];   /* zset: the leads waiting, by deadline */
    char info[KEY_MAX];    /* hash: lead -> its run (JSON) */
    char alerted[KEY_MAX]; /* zset: lead -> when it was last alerted */
};

/* One lead of the batch. */
struct lead {
    char *id;
    int64_t deadline;
    char *rule;
    long step; /* from 0 */
    int64_t started;
    struct student *st; /* owned; NULL once used */
};

/* A batch on its way: kept on the heap, since the send holds the job and
 * the continuation runs on another worker. */
struct alert_send {
    const struct config *cfg;
    struct channel *ch;
    struct alert_group g;
    long long batch;
    int64_t asof; /* the message is rendered as of then (alert_freeze()) */
    char record[KEY_MAX];
    char tmpl[128];
    char to[256]; /* the recipient's contact (masked when written) */
    struct lead *v;
    size_t n;
    struct job_hold *hold;
    struct chan_result res;
};

/* Fills g's names. 0, or -1 when they do not fit. */
int alert_group_init(struct alert_group *g, const char *prefix,
                     const char *staff, long level, const char *channel);
/* The key of batch b's part: "batch" (zset of its leads), "info" (their
 * runs) or "send" (its send record). 0, or -1 when it does not fit. */
int alert_batch_key(const struct alert_group *g, long long b,
                     const char *part, char *buf, size_t n);
/* How long a group's keys live after their last write. */
int64_t alert_keys_ttl(const struct config *cfg);
/* Queues the job that sends batch b at due_ms (ms since the epoch); its
 * id names the batch, so queueing it twice is one job. 0 or -1. */
int alert_schedule(struct rconn *rc, const struct config *cfg,
                   const struct alert_group *g, long long b, int64_t due_ms);
/* Moves the waiting leads into batch b, once (a retried job finds the
 * same batch). Returns the time (ms) of the first freeze, which every
 * attempt renders the message as of; 0 when b is not the group's pending
 * batch (a stale job: the current batch's job is queued again); -1 on
 * error. */
int64_t alert_freeze(struct rconn *rc, const struct config *cfg,
                 const struct alert_group *g, long long b);
/* Batch b is settled (sent: it went out, which starts group_interval):
 * drops it and queues the next batch when leads came in meanwhile. 0 or
 * -1. */
int alert_finish(struct rconn *rc, const struct config *cfg,
                 const struct alert_group *g, long long b, int sent);

/* --- the message of a batch (alert_message.c) ------------------------------ */

struct mime_email;
/* Finishes an email nudge writes itself (an alert, a digest): text and
 * html terminated and built with e's headers into mime (scratch is its
 * working buffer); m's subject, html and mime point at them. */
void alert_email_finish(struct mime_email *e, struct tbuf *text,
                        struct tbuf *html, struct tbuf *mime,
                        struct tbuf *scratch, struct chan_msg *m);

#define ALERT_OWNERS_CACHED 64

/* What a batch's message is rendered into: a chan_msg built from it
 * borrows its strings until alert_msg_free(). */
struct alert_msg {
    struct tmpl_out out; /* the heading */
    struct tbuf text, html, mime, scratch;
    char subject[200];
    char idem[QUEUE_ID_MAX];
    struct alert_row *rows;
    char **links; /* the rows' CRM links (one per lead, or NULL) */
    size_t n;
    struct staff *owners[ALERT_OWNERS_CACHED]; /* each loaded once */
    size_t nowners;
};

/* Renders as's leads for recipient who (the heading from the group's
 * template, then the list for the channel's type) into am and fills m.
 * 0, or -1 when out of memory. Free am with alert_msg_free() either
 * way, once the channel has taken m. */
int alert_msg_build(struct alert_msg *am, const struct alert_send *as,
                    const struct tmpl_set *tmpls, const struct staff *who,
                    struct rconn *rc, struct chan_msg *m);
void alert_msg_free(struct alert_msg *am);

#endif
