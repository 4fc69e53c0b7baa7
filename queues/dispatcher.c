/*
 * dispatcher.c - the worker pool and waker thread of the delayed queue
 * (see dispatcher.h). Workers sleep on one condition variable; the waker
 * (pub/sub), full batches, resumed jobs and dispatcher_join() signal it.
 * A worker claims a batch, lets the prefetch hook read for all of it,
 * and runs each job's handler; jobs held past their handler are held.c's.
 */
#include "queues/dispatcher.h"
#include "queues/dispatcher_int.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/reply.h"

/* Longest a sleeping thread goes without looking at the stop flag. */
#define STOP_CHECK_MS 200
/* A claim that failed without losing the connection (a script error):
 * wait this long before the next, so that a broken key cannot spin. */
#define ERROR_PAUSE_MS 1000

/* --- sleeping and waking ---------------------------------------------- */

struct timespec mono_after(int64_t ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static int before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec ||
           (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* A wake-up counter, read before looking at the queue, so that a wake-up
 * that comes while we look is not missed. */
static unsigned long read_count(struct dispatcher *d, const unsigned long *n)
{
    unsigned long gen;

    pthread_mutex_lock(&d->mu);
    gen = *n;
    pthread_mutex_unlock(&d->mu);
    return gen;
}

static unsigned long wake_count(struct dispatcher *d)
{
    return read_count(d, &d->wakes);
}

/* Sleeps ms, or until a wake-up after gen (from wake_count()) or stop. */
static void wait_for_work(struct dispatcher *d, int64_t ms, unsigned long gen)
{
    struct timespec deadline = mono_after(ms), now, slice;

    pthread_mutex_lock(&d->mu);
    while (d->wakes == gen && !d->quit) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!before(&now, &deadline))
            break;
        slice = mono_after(STOP_CHECK_MS);
        if (before(&deadline, &slice))
            slice = deadline;
        pthread_cond_timedwait(&d->cv, &d->mu, &slice);
    }
    pthread_mutex_unlock(&d->mu);
}

static void wake(struct dispatcher *d, int all)
{
    pthread_mutex_lock(&d->mu);
    d->wakes++;
    d->job_wakes++;
    if (all)
        pthread_cond_broadcast(&d->cv);
    else
        pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

void dispatcher_wake(struct dispatcher *d)
{
    wake(d, 1);
}

/* --- the waker: pub/sub wake-ups from other processes ------------------ */

static int subscribe(struct dispatcher *d, struct rconn *rc)
{
    char channel[KEY_MAX];
    redisReply *r;

    queue_wake_channel(channel, sizeof channel, d->cfg->redis.prefix);
    r = rconn_cmd(rc, "SUBSCRIBE %s", channel);
    if (!r)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY) {
        log_warnx("queue: SUBSCRIBE %s failed: %s", channel,
                  r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        reply_free(r);
        rconn_close(rc);
        return -1;
    }
    reply_free(r);
    return 0;
}

/* Reads what arrived; each message wakes one worker. -1 when the
 * connection is lost. */
static int read_messages(struct dispatcher *d, struct rconn *rc)
{
    void *reply;

    if (redisBufferRead(rc->c) != REDIS_OK) {
        log_warnx("queue: wake-up connection lost: %s", rc->c->errstr);
        rconn_close(rc);
        return -1;
    }
    for (;;) {
        reply = NULL;
        if (redisGetReplyFromReader(rc->c, &reply) != REDIS_OK) {
            rconn_close(rc);
            return -1;
        }
        if (!reply)
            return 0;
        reply_free(reply);
        wake(d, 0);
    }
}

static void *waker_main(void *arg)
{
    struct dispatcher *d = arg;
    struct rconn *rc = d->waker_rc;

    while (!stopping(d)) {
        if (rconn_ensure(rc) < 0)
            break;
        if (subscribe(d, rc) < 0) {
            clock_sleep_ms(ERROR_PAUSE_MS, &d->quit);
            continue;
        }
        /* Anything published while we were away is lost: look again. */
        wake(d, 1);
        while (!stopping(d) && rc->c) {
            struct pollfd pfd = {.fd = rc->c->fd, .events = POLLIN};
            int n = poll(&pfd, 1, STOP_CHECK_MS);
            if (n < 0 && errno != EINTR) {
                log_warn("queue: poll");
                rconn_close(rc);
            } else if (n > 0) {
                read_messages(d, rc);
            }
        }
    }
    return NULL;
}

/* --- a worker ------------------------------------------------------------ */

/* Acks what is pending; after a lost connection, reconnects and tries
 * once more (acks of jobs still ours are idempotent). */
void flush_acks(struct worker *w, struct acks *a)
{
    if (a->n == 0)
        return;
    if (queue_ack(w->q, a->jobs, a->n) < 0) {
        log_warnx("queue: ack: %s", queue_error(w->q));
        if (!w->rc->c && rconn_ensure(w->rc) == 0 &&
            queue_ack(w->q, a->jobs, a->n) < 0)
            log_warnx("queue: ack: %s (the jobs run again when their "
                      "lease ends)",
                      queue_error(w->q));
    }
    a->n = 0;
}

static void record_failure(struct worker *w, const struct queue_job *job,
                           enum queue_failure kind, const char *reason)
{
    int got = queue_fail(w->q, job, kind, reason);

    if (got < 0)
        log_warnx("queue: job %s: recording failure: %s", job->id,
                  queue_error(w->q));
    else if (got == 2)
        log_warnx("queue: job %s dead after attempt %d: %s", job->id,
                  job->attempt, reason);
    else if (got == 1)
        log_info("queue: job %s attempt %d failed, will retry: %s", job->id,
                 job->attempt, reason);
}

void dispatcher_later(const struct queue_job *job, int64_t delay_ms)
{
    /* The job is the worker's batch's (not const): the handler borrows
     * it, as dispatcher_hold() does, to say how long it waits. */
    ((struct queue_job *)job)->later_ms = delay_ms;
}

/* Acks, retries or dead-letters a job by its handler's verdict; false
 * for JOB_HELD (the job is not the caller's any more). */
int settle(struct worker *w, const struct queue_job *job,
           enum job_result res, const char *err, struct acks *a)
{
    switch (res) {
    case JOB_OK:
        a->jobs[a->n++] = job;
        return 1;
    case JOB_RETRY:
        record_failure(w, job, QUEUE_FAIL_TRANSIENT,
                       err[0] ? err : "handler asked for a retry");
        return 1;
    case JOB_HELD:
        return 0;
    case JOB_LATER:
        if (queue_postpone(w->q, job,
                           job->later_ms > 0 ? job->later_ms : JOB_LATER_MS) <
            0)
            log_warnx("queue: job %s: postponing: %s", job->id,
                      queue_error(w->q));
        return 1;
    default:
        record_failure(w, job, QUEUE_FAIL_PERMANENT,
                       err[0] ? err : "handler rejected the job");
        return 1;
    }
}

/* A job whose prefetched read no handler will take. */
static void drop_pre(struct worker *w, struct queue_job *job)
{
    if (job->pre && w->d->hooks.drop)
        w->d->hooks.drop(job, w->rc, w->d->ctx);
    job->pre = NULL;
}

static void run_job(struct worker *w, struct queue_job *job, struct acks *a)
{
    char err[512] = "";
    enum job_result res;

    if (!job->payload) {
        drop_pre(w, job);
        record_failure(w, job, QUEUE_FAIL_PERMANENT,
                       "payload missing from Redis");
        return;
    }
    job->owner = w->d;
    res = w->d->hooks.handle(job, w->rc, w->d->ctx, err, sizeof err);
    job->pre = NULL; /* the handler's now */
    if (w->rc->c == NULL)
        rconn_ensure(w->rc);
    settle(w, job, res, err, a);
}

/* Keeps jobs from..n of b ours while a slow batch is worked through. */
static void extend_rest(struct worker *w, const struct queue_batch *b,
                        size_t from, int64_t lease_ms)
{
    for (size_t i = from; i < b->n; i++)
        if (queue_extend(w->q, &b->jobs[i], lease_ms) < 0) {
            log_warnx("queue: lease of job %s: %s", b->jobs[i].id,
                      queue_error(w->q));
            return;
        }
}

/* Stopping: gives jobs from..n of b back, due at once for any daemon. */
static void release_rest(struct worker *w, struct queue_batch *b, size_t from)
{
    for (size_t i = from; i < b->n; i++)
        drop_pre(w, &b->jobs[i]);
    for (size_t i = from; i < b->n; i++)
        if (queue_release(w->q, &b->jobs[i]) < 0) {
            log_warnx("queue: giving back job %s: %s (it runs when its "
                      "lease ends)",
                      b->jobs[i].id, queue_error(w->q));
            return;
        }
}

static void handle_batch(struct worker *w, struct queue_batch *b)
{
    int64_t lease = w->d->cfg->queue.lease_ms;
    int64_t renew_at = clock_mono_ms() + lease / 2;
    struct acks a = {calloc(b->n, sizeof *a.jobs), 0};
    size_t i;

    if (!a.jobs) {
        log_warnx("queue: out of memory; %zu jobs wait for their lease", b->n);
        return;
    }
    if (w->d->hooks.prefetch) {
        w->d->hooks.prefetch(b->jobs, b->n, w->rc, w->d->ctx);
        if (w->rc->c == NULL)
            rconn_ensure(w->rc);
    }
    for (i = 0; i < b->n && !stopping(w->d); i++) {
        if (clock_mono_ms() >= renew_at) {
            /* Slow handlers: keep the rest of the batch ours. */
            flush_acks(w, &a);
            extend_rest(w, b, i, lease);
            renew_at = clock_mono_ms() + lease / 2;
        }
        run_job(w, &b->jobs[i], &a);
        if (i % 16 == 15)
            run_ready(w); /* sends done meanwhile: settle them too */
    }
    flush_acks(w, &a);
    if (i < b->n)
        release_rest(w, b, i);
    free(a.jobs);
}

/* One claim per shard, from the worker's own shard on. Returns the jobs
 * handled, or -1; *next_ms is the shortest time until something is due. */
static int sweep(struct worker *w, int *full, int64_t *next_ms)
{
    int shards = queue_shards(w->q), batch = w->d->cfg->queue.batch;
    int handled = 0;

    for (int k = 0; k < shards && !stopping(w->d); k++) {
        struct queue_batch b;
        int n = queue_claim(w->q, (w->index + k) % shards, batch, &b);
        if (n < 0) {
            queue_batch_free(&b);
            return -1;
        }
        if (b.next_in_ms >= 0 && (*next_ms < 0 || b.next_in_ms < *next_ms))
            *next_ms = b.next_in_ms;
        if (n >= batch || n >= QUEUE_BATCH_MAX)
            *full = 1;
        if (n > 0)
            handle_batch(w, &b);
        handled += n;
        queue_batch_free(&b);
    }
    return handled;
}

static int64_t sleep_for(const struct dispatcher *d, int64_t next_ms)
{
    int64_t max =
        d->cfg->queue.max_sleep_ms > 0 ? d->cfg->queue.max_sleep_ms : 1000;

    if (next_ms < 0 || next_ms > max)
        return max;
    /* Redis's clock counts whole milliseconds: "due in 0 ms" may still be
     * a fraction of a millisecond away. */
    return next_ms > 0 ? next_ms : 1;
}

/* Claims are taken while the daemon runs and fewer than queue.max_held
 * jobs wait on providers. */
static int may_claim(struct dispatcher *d)
{
    int room;

    pthread_mutex_lock(&d->mu);
    room = d->nheld < d->cfg->queue.max_held;
    pthread_mutex_unlock(&d->mu);
    return room && !stopping(d);
}

static unsigned long job_wake_count(struct dispatcher *d)
{
    return read_count(d, &d->job_wakes);
}

/* A worker claims when a job may be due: a wake-up said so (a job
 * scheduled for now, a full batch), or the time the last claim gave for
 * the next due job or lease deadline has come. Continuations alone wake
 * it without a claim's round trip. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct dispatcher *d = w->d;
    int errors = 0;
    int64_t claim_at = 0;
    unsigned long seen = 0;

    for (;;) {
        int full = 0, n = 0;
        int64_t next_ms = -1, now;
        unsigned long gen = wake_count(d), jobs = job_wake_count(d);
        size_t ran;

        if (d->quit && ready_empty(d))
            break;
        if (rconn_ensure(w->rc) < 0)
            break; /* quitting while Redis is away */
        ran = run_ready(w);
        renew_held(w);
        if (may_claim(d) && (jobs != seen || clock_mono_ms() >= claim_at)) {
            seen = jobs;
            if ((n = sweep(w, &full, &next_ms)) < 0) {
                if (errors++ == 0 || errors % 100 == 0)
                    log_warnx("queue: claim: %s", queue_error(w->q));
                if (w->rc->c)
                    wait_for_work(d, ERROR_PAUSE_MS, gen);
                continue;
            }
            errors = 0;
            claim_at = clock_mono_ms() + (full ? 0 : sleep_for(d, next_ms));
        }
        if (full)
            wake(d, 0);
        now = clock_mono_ms();
        if (n == 0 && ran == 0)
            wait_for_work(d, claim_at > now ? claim_at - now : 1, gen);
    }
    return NULL;
}

/* --- starting and stopping -------------------------------------------- */

static void free_dispatcher(struct dispatcher *d)
{
    for (int i = 0; i < d->nworkers; i++) {
        queue_close(d->workers[i].q);
        rconn_free(d->workers[i].rc);
    }
    free(d->workers);
    rconn_free(d->waker_rc);
    held_free_all(d);
    pthread_cond_destroy(&d->held_cv);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

static int init_sync(struct dispatcher *d)
{
    pthread_condattr_t ca;
    int ret = -1;

    if (pthread_condattr_init(&ca) != 0)
        return -1;
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
        pthread_cond_init(&d->cv, &ca) == 0) {
        if (pthread_cond_init(&d->held_cv, &ca) != 0)
            pthread_cond_destroy(&d->cv);
        else if (pthread_mutex_init(&d->mu, NULL) == 0)
            ret = 0;
        else {
            pthread_cond_destroy(&d->cv);
            pthread_cond_destroy(&d->held_cv);
        }
    }
    pthread_condattr_destroy(&ca);
    return ret;
}

static int make_workers(struct dispatcher *d)
{
    d->workers = calloc((size_t)d->nworkers, sizeof *d->workers);
    if (!d->workers)
        return -1;
    d->waker_rc = rconn_new(d->cfg, &d->quit);
    if (!d->waker_rc)
        return -1;
    for (int i = 0; i < d->nworkers; i++) {
        struct worker *w = &d->workers[i];
        w->d = d;
        w->index = i;
        w->rc = rconn_new(d->cfg, &d->quit);
        w->q = w->rc ? queue_open(d->cfg, w->rc) : NULL;
        if (!w->q)
            return -1;
    }
    return 0;
}

static int start_threads(struct dispatcher *d, char *err, size_t errlen)
{
    int e = pthread_create(&d->waker, NULL, waker_main, d);

    if (e != 0)
        goto fail;
    d->waker_started = 1;
    for (int i = 0; i < d->nworkers; i++) {
        e = pthread_create(&d->workers[i].tid, NULL, worker_main,
                           &d->workers[i]);
        if (e != 0)
            goto fail;
        d->workers[i].started = 1;
    }
    return 0;
fail:
    snprintf(err, errlen, "cannot start queue threads: %s", strerror(e));
    return -1;
}

static void join_threads(struct dispatcher *d)
{
    d->quit = 1;
    wake(d, 1);
    for (int i = 0; i < d->nworkers; i++)
        if (d->workers[i].started)
            pthread_join(d->workers[i].tid, NULL);
    if (d->waker_started)
        pthread_join(d->waker, NULL);
}

struct dispatcher *dispatcher_start(const struct config *cfg, job_handler fn,
                                    void *ctx, volatile int *stop, char *err,
                                    size_t errlen)
{
    struct job_hooks hooks = {.handle = fn};

    return dispatcher_start_hooks(cfg, &hooks, ctx, stop, err, errlen);
}

struct dispatcher *dispatcher_start_hooks(const struct config *cfg,
                                          const struct job_hooks *hooks,
                                          void *ctx, volatile int *stop,
                                          char *err, size_t errlen)
{
    struct dispatcher *d = calloc(1, sizeof *d);

    if (!d || init_sync(d) < 0) {
        snprintf(err, errlen, "out of memory");
        free(d);
        return NULL;
    }
    d->magic = DISPATCHER_MAGIC;
    d->cfg = cfg;
    d->hooks = *hooks;
    d->ctx = ctx;
    d->stop = stop;
    d->nworkers = cfg->queue.workers > 0 ? cfg->queue.workers : 1;
    queue_metrics_init();
    d->held_gauge = metric_gauge("nudge_queue_held",
                                 "Claimed jobs waiting on a provider", NULL);
    if (make_workers(d) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (start_threads(d, err, errlen) < 0)
        goto fail;
    return d;
fail:
    join_threads(d);
    free_dispatcher(d);
    return NULL;
}

void dispatcher_join(struct dispatcher *d)
{
    if (!d)
        return;
    join_threads(d);
    free_dispatcher(d);
}
