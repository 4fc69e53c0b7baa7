/*
 * dispatcher_int.h - what the dispatcher's two files share: the pool and
 * its workers (dispatcher.c: claiming, handling, sleeping and waking) and
 * the held jobs (held.c: kept claimed while a provider works, then
 * resumed). Nothing outside queues/ includes it.
 */
#ifndef NUDGE_QUEUE_DISPATCHER_INT_H
#define NUDGE_QUEUE_DISPATCHER_INT_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "core/metrics.h"
#include "queues/dispatcher.h"

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
    struct job_hooks hooks;
    void *ctx;
    volatile int *stop; /* the daemon's */
    volatile int quit;  /* dispatcher_join()'s */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned long wakes;     /* bumped by every wake-up, under mu */
    unsigned long job_wakes; /* of which: jobs may be due (not resumes) */

    /* held jobs, under mu */
    struct job_hold *held;
    int nheld;
    struct job_hold *ready_head, *ready_tail;
    int nready;
    int draining;           /* dispatcher_drain(): no more claims */
    int64_t renew_at;       /* clock_mono_ms() of the next lease renewal */
    pthread_cond_t held_cv; /* nheld went down */
    struct metric *held_gauge;

    struct worker *workers;
    int nworkers;
    pthread_t waker;
    int waker_started;
    struct rconn *waker_rc;
};

/* No more claims: the daemon stops, or dispatcher_drain() was called. */
static inline int stopping(const struct dispatcher *d)
{
    return d->quit || d->draining || (d->stop && *d->stop);
}

/* Jobs a worker will ack together. */
struct acks {
    const struct queue_job **jobs;
    size_t n;
};

/* dispatcher.c: */
/* CLOCK_MONOTONIC ms from now, for the condition variables. */
struct timespec mono_after(int64_t ms);
/* Acks what is pending (a->n goes back to 0). */
void flush_acks(struct worker *w, struct acks *a);
/* Acks (into a), retries or dead-letters a job by its handler's verdict;
 * 0 for JOB_HELD (the job is not the caller's any more), else 1. */
int settle(struct worker *w, const struct queue_job *job, enum job_result res,
           const char *err, struct acks *a);

/* held.c: */
/* Runs the continuations that are ready; settles their jobs. Returns how
 * many ran. */
size_t run_ready(struct worker *w);
/* Every lease/3, one worker pushes every held job's lease on. */
void renew_held(struct worker *w);
int ready_empty(struct dispatcher *d);
/* On free: what is still held is left to its lease. */
void held_free_all(struct dispatcher *d);

#endif
