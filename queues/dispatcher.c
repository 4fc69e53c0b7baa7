/*
 * dispatcher.c - the worker pool and waker thread of the delayed queue
 * (see dispatcher.h). Workers sleep on one condition variable; the waker
 * (pub/sub), full batches, resumed jobs and dispatcher_join() signal it.
 * Held jobs sit on a list (their leases renewed by whichever worker finds
 * the renewal due); resumed ones on a ready list that workers drain
 * before claiming more.
 */
#include "queues/dispatcher.h"

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

/* Longest a sleeping thread goes without looking at the stop flag. */
#define STOP_CHECK_MS 200
/* A claim that failed without losing the connection (a script error):
 * wait this long before the next, so that a broken key cannot spin. */
#define ERROR_PAUSE_MS 1000
/* Continuations a worker takes from the ready list at a time. */
#define READY_BATCH 128

#define DISPATCHER_MAGIC 0x64697370u
#define HOLD_MAGIC 0x686f6c64u

struct job_hold {
    unsigned magic;       /* HOLD_MAGIC: what job.owner points at */
    struct queue_job job; /* own copy; job.owner is this hold */
    struct dispatcher *d;
    job_resume_fn fn; /* the resume queued, under d->mu */
    void *arg;
    struct job_hold *prev, *next; /* the held list */
    struct job_hold *ready;       /* the ready list */
};

struct worker {
    struct dispatcher *d;
    int index;
    pthread_t tid;
    int started;
    struct rconn *rc;
    struct queue *q;
};

struct dispatcher {
    unsigned magic; /* DISPATCHER_MAGIC: what a claimed job's owner is */
    const struct config *cfg;
    job_handler fn;
    void *ctx;
    volatile int *stop; /* the daemon's */
    volatile int quit;  /* dispatcher_join()'s */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned long wakes; /* bumped by every wake-up, under mu */
    unsigned long job_wakes; /* of which: jobs may be due (not resumes) */

    /* held jobs, under mu */
    struct job_hold *held;
    int nheld;
    struct job_hold *ready_head, *ready_tail;
    int nready;
    int draining;      /* dispatcher_drain(): no more claims */
    int64_t renew_at;  /* clock_mono_ms() of the next lease renewal */
    pthread_cond_t held_cv; /* nheld went down */
    struct metric *held_gauge;

    struct worker *workers;
    int nworkers;
    pthread_t waker;
    int waker_started;
    struct rconn *waker_rc;
};

/* No more claims: the daemon stops, or dispatcher_drain() was called. */
static int stopping(const struct dispatcher *d)
{
    return d->quit || d->draining || (d->stop && *d->stop);
}

/* --- sleeping and waking ---------------------------------------------- */

static struct timespec mono_after(int64_t ms)
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
        freeReplyObject(r);
        rconn_close(rc);
        return -1;
    }
    freeReplyObject(r);
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
        freeReplyObject(reply);
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

struct acks {
    const struct queue_job **jobs;
    size_t n;
};

/* Acks what is pending; after a lost connection, reconnects and tries
 * once more (acks of jobs still ours are idempotent). */
static void flush_acks(struct worker *w, struct acks *a)
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

/* Acks, retries or dead-letters a job by its handler's verdict; false
 * for JOB_HELD (the job is not the caller's any more). */
static int settle(struct worker *w, const struct queue_job *job,
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
    default:
        record_failure(w, job, QUEUE_FAIL_PERMANENT,
                       err[0] ? err : "handler rejected the job");
        return 1;
    }
}

static void run_job(struct worker *w, struct queue_job *job, struct acks *a)
{
    char err[512] = "";
    enum job_result res;

    if (!job->payload) {
        record_failure(w, job, QUEUE_FAIL_PERMANENT,
                       "payload missing from Redis");
        return;
    }
    job->owner = w->d;
    res = w->d->fn(job, w->rc, w->d->ctx, err, sizeof err);
    if (w->rc->c == NULL)
        rconn_ensure(w->rc);
    settle(w, job, res, err, a);
}

/* --- held jobs -------------------------------------------------------------- */

static void set_held(struct dispatcher *d, int delta)
{
    d->nheld += delta;
    metric_set(d->held_gauge, d->nheld);
    if (delta < 0)
        pthread_cond_broadcast(&d->held_cv);
}

static struct job_hold *hold_new(struct dispatcher *d,
                                 const struct queue_job *job)
{
    struct job_hold *h = calloc(1, sizeof *h);

    if (!h)
        return NULL;
    h->magic = HOLD_MAGIC;
    h->d = d;
    h->job = *job;
    h->job.owner = h;
    h->job.id = strdup(job->id);
    h->job.payload = malloc(job->len + 1);
    if (!h->job.id || !h->job.payload) {
        free(h->job.id);
        free(h->job.payload);
        free(h);
        return NULL;
    }
    memcpy(h->job.payload, job->payload, job->len);
    h->job.payload[job->len] = 0;
    return h;
}

struct job_hold *dispatcher_hold(const struct queue_job *job)
{
    struct dispatcher *d;
    struct job_hold *h;

    if (job->owner && *(const unsigned *)job->owner == HOLD_MAGIC)
        return job->owner; /* held again by its continuation */
    d = job->owner;
    if (!d || d->magic != DISPATCHER_MAGIC || !(h = hold_new(d, job)))
        return NULL;
    pthread_mutex_lock(&d->mu);
    h->next = d->held;
    if (d->held)
        d->held->prev = h;
    d->held = h;
    set_held(d, 1);
    pthread_mutex_unlock(&d->mu);
    return h;
}

/* Under mu: takes h off the held list. */
static void unlink_held(struct dispatcher *d, struct job_hold *h)
{
    if (h->prev)
        h->prev->next = h->next;
    else
        d->held = h->next;
    if (h->next)
        h->next->prev = h->prev;
    set_held(d, -1);
}

static void hold_free(struct job_hold *h)
{
    free(h->job.id);
    free(h->job.payload);
    free(h);
}

void dispatcher_resume(struct job_hold *h, job_resume_fn fn, void *arg)
{
    struct dispatcher *d = h->d;

    pthread_mutex_lock(&d->mu);
    h->fn = fn;
    h->arg = arg;
    h->ready = NULL;
    if (d->ready_tail)
        d->ready_tail->ready = h;
    else
        d->ready_head = h;
    d->ready_tail = h;
    /* The worker woken for the first of a burst takes the rest with it
     * (READY_BATCH at a time); another is woken every READY_BATCH/4. */
    if (d->nready++ % (READY_BATCH / 4) == 0) {
        d->wakes++;
        pthread_cond_signal(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
}

int dispatcher_held(struct dispatcher *d)
{
    int n;

    pthread_mutex_lock(&d->mu);
    n = d->nheld;
    pthread_mutex_unlock(&d->mu);
    return n;
}

/* Takes up to max resumed holds off the ready list. */
static size_t take_ready(struct dispatcher *d, struct job_hold **v,
                         size_t max)
{
    size_t n = 0;

    pthread_mutex_lock(&d->mu);
    while (n < max && d->ready_head) {
        v[n] = d->ready_head;
        if (!(d->ready_head = v[n]->ready))
            d->ready_tail = NULL;
        n++;
    }
    d->nready -= (int)n;
    pthread_mutex_unlock(&d->mu);
    return n;
}

/* Runs the continuations that are ready; settles their jobs. Returns how
 * many ran. */
static size_t run_ready(struct worker *w)
{
    struct dispatcher *d = w->d;
    struct job_hold *v[READY_BATCH], *done[READY_BATCH];
    const struct queue_job *ackv[READY_BATCH];
    struct acks a = {ackv, 0};
    size_t n = take_ready(d, v, READY_BATCH), ndone = 0;

    for (size_t i = 0; i < n; i++) {
        char err[512] = "";
        struct job_hold *h = v[i];
        enum job_result res = h->fn(&h->job, w->rc, h->arg, err, sizeof err);

        if (w->rc->c == NULL)
            rconn_ensure(w->rc);
        /* JOB_HELD: resumed again later, maybe already on another
         * worker: h is not ours to touch. */
        if (settle(w, &h->job, res, err, &a))
            done[ndone++] = h;
    }
    flush_acks(w, &a);
    if (ndone) {
        pthread_mutex_lock(&d->mu);
        for (size_t i = 0; i < ndone; i++)
            unlink_held(d, done[i]);
        pthread_mutex_unlock(&d->mu);
        for (size_t i = 0; i < ndone; i++)
            hold_free(done[i]);
    }
    return n;
}

/* Keeps held jobs claimed: every lease/3, one worker pushes every held
 * job's lease on. The ids are copied under the lock, since a held job may
 * be settled and freed by another worker meanwhile. */
static void renew_held(struct worker *w)
{
    struct dispatcher *d = w->d;
    int64_t lease = d->cfg->queue.lease_ms, now = clock_mono_ms();
    struct queue_job *v;
    size_t n = 0;

    pthread_mutex_lock(&d->mu);
    if (!d->held || now < d->renew_at) {
        if (!d->held)
            d->renew_at = now + lease / 3;
        pthread_mutex_unlock(&d->mu);
        return;
    }
    d->renew_at = now + lease / 3;
    v = calloc((size_t)d->nheld, sizeof *v);
    for (struct job_hold *h = d->held; v && h; h = h->next) {
        v[n] = h->job;
        v[n].payload = NULL;
        if ((v[n].id = strdup(h->job.id)))
            n++;
    }
    pthread_mutex_unlock(&d->mu);
    for (size_t i = 0; i < n; i++) {
        if (queue_extend(w->q, &v[i], lease) < 0)
            log_warnx("queue: lease of held job %s: %s", v[i].id,
                      queue_error(w->q));
        free(v[i].id);
    }
    free(v);
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
static void release_rest(struct worker *w, const struct queue_batch *b,
                         size_t from)
{
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

static int ready_empty(struct dispatcher *d)
{
    int empty;

    pthread_mutex_lock(&d->mu);
    empty = d->ready_head == NULL;
    pthread_mutex_unlock(&d->mu);
    return empty;
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
    while (d->held) { /* left to their leases */
        struct job_hold *h = d->held;
        d->held = h->next;
        hold_free(h);
    }
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
    struct dispatcher *d = calloc(1, sizeof *d);

    if (!d || init_sync(d) < 0) {
        snprintf(err, errlen, "out of memory");
        free(d);
        return NULL;
    }
    d->magic = DISPATCHER_MAGIC;
    d->cfg = cfg;
    d->fn = fn;
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

void dispatcher_drain(struct dispatcher *d)
{
    struct timespec deadline;

    if (!d)
        return;
    deadline = mono_after(d->cfg->queue.drain_ms);
    pthread_mutex_lock(&d->mu);
    d->draining = 1;
    if (d->nheld > 0)
        log_info("queue: waiting for %d sends in flight", d->nheld);
    while (d->nheld > 0 &&
           pthread_cond_timedwait(&d->held_cv, &d->mu, &deadline) !=
               ETIMEDOUT)
        ;
    if (d->nheld > 0)
        log_warnx("queue: %d jobs still wait on providers after %llds; "
                  "their leases bring them back",
                  d->nheld, (long long)(d->cfg->queue.drain_ms / 1000));
    pthread_mutex_unlock(&d->mu);
}

void dispatcher_join(struct dispatcher *d)
{
    if (!d)
        return;
    join_threads(d);
    free_dispatcher(d);
}
