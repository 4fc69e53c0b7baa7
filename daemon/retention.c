/*
 * retention.c - trims old timeline entries and the events stream in the
 * background (see retention.h).
 */
#include "daemon/retention.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/duration.h"
#include "core/redis.h"
#include "core/reply.h"
#include "daemon/stream_trim.h"

struct retention {
    const struct config *cfg;
    volatile int *stop;
    struct rconn *rc;
    pthread_t thread;
    char cursor[32];
    struct stream_trim *events; /* slm:events below what groups acked */
};

/* One SCAN step and the XTRIMs of the timelines it found. Returns the
 * entries removed, or -1. */
static long long trim_step(struct retention *rt)
{
    const struct config *cfg = rt->cfg;
    char pattern[256], minid[32];
    redisReply *rep, *keys;
    long long removed = 0;
    size_t sent = 0;

    snprintf(pattern, sizeof pattern, "%sstudent:{*}:timeline",
             cfg->redis.prefix);
    if (!(rep = rconn_cmd(rt->rc, "SCAN %s MATCH %s COUNT %d", rt->cursor,
                          pattern, cfg->retention.students_per_tick)))
        return -1;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
        reply_free(rep);
        return -1;
    }
    snprintf(rt->cursor, sizeof rt->cursor, "%s", rep->element[0]->str);
    keys = rep->element[1];
    snprintf(minid, sizeof minid, "%lld",
             (long long)(clock_now_ms() - cfg->retention.timeline_ms));
    for (size_t i = 0; i < keys->elements; i++)
        if (rconn_append(rt->rc, "XTRIM %s MINID %s", keys->element[i]->str,
                         minid) == 0)
            sent++;
    for (size_t i = 0; i < sent; i++) {
        redisReply *r = rconn_reply(rt->rc);
        if (!r) {
            reply_free(rep);
            return -1;
        }
        if (r->type == REDIS_REPLY_INTEGER)
            removed += r->integer;
        reply_free(r);
    }
    reply_free(rep);
    return removed;
}

/* The timelines' step, when [retention] timeline is set. */
static void trim_timelines(struct retention *rt)
{
    long long n;

    if (rt->cfg->retention.timeline_ms <= 0 || (n = trim_step(rt)) == 0)
        return;
    if (n < 0)
        log_warnx("retention: %s", rt->rc->errstr);
    else
        log_debug("retention: %lld old timeline entries trimmed", n);
}

static void trim_events(struct retention *rt)
{
    long long n;

    if (!rt->rc->c || (n = stream_trim_pass(rt->events, rt->rc)) == 0)
        return;
    if (n < 0)
        log_warnx("retention: %s", rt->rc->errstr);
    else
        log_debug("retention: %lld acknowledged events trimmed", n);
}

/* [retention] interval; 0 would spin on Redis: 10 ms at least. */
static int64_t interval_ms(const struct config *cfg)
{
    return cfg->retention.interval_ms > 10 ? cfg->retention.interval_ms : 10;
}

static void *retention_main(void *arg)
{
    struct retention *rt = arg;

    /* The first step waits an interval too: by then the consumer has
     * made its group, and the stream is not found "with no group". */
    while (clock_sleep_ms(interval_ms(rt->cfg), rt->stop) == 0 &&
           !*rt->stop) {
        if (rconn_ensure(rt->rc) == 0) {
            trim_timelines(rt);
            trim_events(rt); /* its connection may have gone: checked */
        }
    }
    return NULL;
}

static void log_started(const struct config *cfg)
{
    char span[32] = "";

    if (cfg->retention.timeline_ms > 0)
        log_info("retention: timeline entries older than %s are trimmed",
                 duration_format(cfg->retention.timeline_ms, span,
                                 sizeof span));
    if (cfg->retention.events_ms > 0)
        log_info("retention: %sevents entries are trimmed once older than "
                 "%s and acknowledged by every consumer group",
                 cfg->redis.prefix,
                 duration_format(cfg->retention.events_ms, span,
                                 sizeof span));
    else
        log_info("retention: %sevents entries are trimmed once every "
                 "consumer group has acknowledged them",
                 cfg->redis.prefix);
}

struct retention *retention_start(const struct config *cfg,
                                  volatile int *stop)
{
    struct retention *rt;

    if (!(rt = calloc(1, sizeof *rt)))
        return NULL;
    rt->cfg = cfg;
    rt->stop = stop;
    snprintf(rt->cursor, sizeof rt->cursor, "0");
    if (!(rt->events = stream_trim_new(cfg)) ||
        !(rt->rc = rconn_new(cfg, stop)) ||
        pthread_create(&rt->thread, NULL, retention_main, rt) != 0) {
        log_warnx("retention: cannot start; timelines and the events "
                  "stream are not trimmed");
        rconn_free(rt->rc);
        stream_trim_free(rt->events);
        free(rt);
        return NULL;
    }
    log_started(cfg);
    return rt;
}

void retention_join(struct retention *rt)
{
    if (!rt)
        return;
    pthread_join(rt->thread, NULL);
    rconn_free(rt->rc);
    stream_trim_free(rt->events);
    free(rt);
}
