/*
 * queue_tool.c - a test driver for the delayed queue, so that the
 * integration tests (tests/integration/test_queue.py) can run producers
 * and draining processes of their own, kill them and count:
 *
 *   queue_tool -c FILE schedule N [--prefix P] [--delay MS] [--spread MS]
 *                               [--raw PAYLOAD] [--chunk K]
 *   queue_tool -c FILE cancel ID
 *   queue_tool -c FILE drain [--handler-us US]
 *
 * Scheduled payloads are {"n": I}; a payload {"fail": K} makes the
 * handler ask for a retry on attempts 1..K. drain runs the dispatcher until
 * SIGTERM; its handler rejects payloads that are not JSON objects as
 * corrupt and records every job it handles in Redis: HINCRBY
 * PREFIX"test:handled" ID 1 and RPUSH PREFIX"test:order" ID.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/reply.h"
#include "queues/delayed.h"
#include "queues/dispatcher.h"

static volatile int stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

struct drain_ctx {
    char handled[KEY_MAX];
    char order[KEY_MAX];
    long handler_us;
};

static enum job_result handle(const struct queue_job *job, struct rconn *rc,
                              void *arg, char *err, size_t errlen)
{
    struct drain_ctx *ctx = arg;
    json_error_t jerr;
    json_t *payload = json_loadb(job->payload, job->len, 0, &jerr);
    json_t *fail;
    redisReply *r;

    if (!payload || !json_is_object(payload)) {
        snprintf(err, errlen, "corrupt payload: %s",
                 payload ? "not a JSON object" : jerr.text);
        json_decref(payload);
        return JOB_DEAD;
    }
    fail = json_object_get(payload, "fail");
    if (json_is_integer(fail) && job->attempt <= json_integer_value(fail)) {
        snprintf(err, errlen, "failing on purpose (attempt %d)", job->attempt);
        json_decref(payload);
        return JOB_RETRY;
    }
    json_decref(payload);
    if (ctx->handler_us > 0) {
        struct timespec ts = {ctx->handler_us / 1000000,
                              (ctx->handler_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
    rconn_append(rc, "HINCRBY %s %s 1", ctx->handled, job->id);
    rconn_append(rc, "RPUSH %s %s", ctx->order, job->id);
    for (int i = 0; i < 2; i++) {
        r = rconn_reply(rc);
        if (!r) {
            snprintf(err, errlen, "recording: %s", rc->errstr);
            return JOB_RETRY;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            /* LOADING after a restart, say: the job must run again */
            snprintf(err, errlen, "recording: %s", r->str);
            reply_free(r);
            rconn_discard(rc, 1 - i);
            return JOB_RETRY;
        }
        reply_free(r);
    }
    return JOB_OK;
}

static int drain(const struct config *cfg, int argc, char **argv)
{
    struct drain_ctx ctx = {.handler_us = 0};
    struct dispatcher *d;
    char err[256];

    for (int i = 1; i + 1 < argc; i += 2)
        if (strcmp(argv[i], "--handler-us") == 0)
            ctx.handler_us = atol(argv[i + 1]);
    key_global(ctx.handled, sizeof ctx.handled, cfg->redis.prefix,
               "test:handled");
    key_global(ctx.order, sizeof ctx.order, cfg->redis.prefix, "test:order");
    d = dispatcher_start(cfg, handle, &ctx, &stop, err, sizeof err);
    if (!d) {
        fprintf(stderr, "queue_tool: %s\n", err);
        return 1;
    }
    printf("draining\n");
    fflush(stdout);
    while (!stop)
        clock_sleep_ms(1000, &stop);
    dispatcher_join(d);
    printf("stopped\n");
    return 0;
}

struct schedule_opts {
    const char *prefix, *raw;
    long n, chunk;
    int64_t delay, spread;
};

static int schedule_chunk(struct queue *q, const struct schedule_opts *o,
                          long from, long n, size_t *added)
{
    struct queue_new *jobs = calloc((size_t)n, sizeof *jobs);
    char(*ids)[64] = calloc((size_t)n, sizeof *ids);
    char(*bodies)[32] = calloc((size_t)n, sizeof *bodies);
    int ret = -1;

    if (!jobs || !ids || !bodies)
        goto done;
    for (long i = 0; i < n; i++) {
        long k = from + i;
        snprintf(ids[i], sizeof ids[i], "%s%ld", o->prefix, k);
        snprintf(bodies[i], sizeof bodies[i], "{\"n\":%ld}", k);
        jobs[i].id = ids[i];
        jobs[i].payload = o->raw ? o->raw : bodies[i];
        jobs[i].len = strlen(jobs[i].payload);
        jobs[i].when_ms =
            o->delay + (o->n > 1 ? o->spread * k / (o->n - 1) : 0);
    }
    ret = queue_schedule_many(q, jobs, (size_t)n, added);
done:
    free(jobs);
    free(ids);
    free(bodies);
    return ret;
}

static int schedule(const struct config *cfg, struct rconn *rc, int argc,
                    char **argv)
{
    struct schedule_opts o = {"job", NULL, 0, 1000, 0, 0};
    struct queue *q;
    size_t total = 0;

    if (argc < 2)
        return 2;
    o.n = atol(argv[1]);
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--prefix") == 0)
            o.prefix = argv[i + 1];
        else if (strcmp(argv[i], "--delay") == 0)
            o.delay = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--spread") == 0)
            o.spread = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--raw") == 0)
            o.raw = argv[i + 1];
        else if (strcmp(argv[i], "--chunk") == 0)
            o.chunk = atol(argv[i + 1]);
    }
    q = queue_open(cfg, rc);
    for (long from = 0; q && from < o.n; from += o.chunk) {
        size_t added = 0;
        long n = o.n - from < o.chunk ? o.n - from : o.chunk;
        if (schedule_chunk(q, &o, from, n, &added) < 0) {
            fprintf(stderr, "queue_tool: %s\n", queue_error(q));
            queue_close(q);
            return 1;
        }
        total += added;
        /* acknowledged by Redis: the tests hold us to these */
        printf("acked %ld\n", from + n);
        fflush(stdout);
    }
    printf("added %zu\n", total);
    queue_close(q);
    return 0;
}

static int cancel(const struct config *cfg, struct rconn *rc, int argc,
                  char **argv)
{
    struct queue *q = queue_open(cfg, rc);
    int got;

    if (argc < 2 || !q)
        return 2;
    got = queue_cancel(q, argv[1]);
    printf("%s\n", got == 1 ? "cancelled" : got == 0 ? "not found" : "error");
    queue_close(q);
    return got < 0;
}

int main(int argc, char **argv)
{
    struct config cfg;
    struct diag d = {0};
    struct rconn *rc = NULL;
    int status = 2;

    if (argc < 4 || strcmp(argv[1], "-c") != 0) {
        fprintf(stderr, "usage: queue_tool -c FILE schedule|cancel|drain\n");
        return 2;
    }
    log_init("queue_tool", 1, LOG_LVL_INFO);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    if (config_load(argv[2], &cfg, &d) < 0) {
        diag_print(&d, stderr);
        diag_clear(&d);
        return 2;
    }
    argc -= 3;
    argv += 3;
    if (strcmp(argv[0], "drain") == 0) {
        status = drain(&cfg, argc, argv);
    } else {
        rc = rconn_new(&cfg, &stop);
        if (rc && rconn_ensure(rc) == 0)
            status = strcmp(argv[0], "schedule") == 0
                         ? schedule(&cfg, rc, argc, argv)
                         : cancel(&cfg, rc, argc, argv);
    }
    rconn_free(rc);
    config_free(&cfg);
    diag_clear(&d);
    return status;
}
