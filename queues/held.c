/*
 * held.c - the dispatcher's held jobs (see dispatcher.h): a job whose
 * handler handed its work to something slower stays claimed, on the held
 * list, its lease renewed by whichever worker finds the renewal due; when
 * the work is done, dispatcher_resume() puts it on the ready list, which
 * workers drain before claiming more.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "queues/dispatcher_int.h"

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
    h->job.pre = NULL;
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
static size_t take_ready(struct dispatcher *d, struct job_hold **v, size_t max)
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
size_t run_ready(struct worker *w)
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
void renew_held(struct worker *w)
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

int ready_empty(struct dispatcher *d)
{
    int empty;

    pthread_mutex_lock(&d->mu);
    empty = d->ready_head == NULL;
    pthread_mutex_unlock(&d->mu);
    return empty;
}

void held_free_all(struct dispatcher *d)
{
    while (d->held) {
        struct job_hold *h = d->held;
        d->held = h->next;
        hold_free(h);
    }
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
           pthread_cond_timedwait(&d->held_cv, &d->mu, &deadline) != ETIMEDOUT)
        ;
    if (d->nheld > 0)
        log_warnx("queue: %d jobs still wait on providers after %llds; "
                  "their leases bring them back",
                  d->nheld, (long long)(d->cfg->queue.drain_ms / 1000));
    pthread_mutex_unlock(&d->mu);
}
