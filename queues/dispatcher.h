/*
 * dispatcher.h - runs the delayed queue's jobs: a pool of worker threads
 * (config queue.workers), each with its own Redis connection and queue
 * handle, that claim due jobs in batches (queue.batch), hand each to the
 * caller's handler, and ack, retry or dead-letter it by the handler's
 * verdict. nudged starts one beside its event consumer.
 *
 * No busy polling: a worker with nothing due sleeps until the earliest due
 * job or lease deadline of the shards (Redis's clock), at most
 * queue.max_sleep. A waker thread subscribes to the queue's wake channel
 * (prefix + "q:wake"), on which queue_schedule() publishes when a job
 * lands before a shard's earliest one, so a job scheduled for now by any
 * process fires at once. A worker that claims a full batch wakes another,
 * so a backlog is shared by all workers.
 *
 * A handler that hands work to something slower (a channel sending to a
 * provider) does not wait for it: it calls dispatcher_hold() and returns
 * JOB_HELD. The job stays claimed, its lease renewed, while no worker
 * waits on it; when the work is done, dispatcher_resume() (from any
 * thread) runs a continuation on a worker, whose verdict settles the job
 * as a handler's would:
 *
 *   claim -> handler -> JOB_HELD ... done -> dispatcher_resume()
 *                                              -> continuation -> JOB_OK
 *                                                 (ack), JOB_RETRY, JOB_DEAD,
 *                                                 or JOB_HELD again
 *
 * Usage (from nudged):
 *
 *     static enum job_result handle(const struct queue_job *job,
 *                                   struct rconn *rc, void *ctx,
 *                                   char *err, size_t errlen);
 *     char err[256];
 *     struct dispatcher *d = dispatcher_start(&cfg, handle, ctx, &stop,
 *                                             err, sizeof err);
 *     if (!d) fatalx("queue: %s", err);
 *     ... the event loop, until stop is set ...
 *     dispatcher_drain(d);  // SIGTERM: no more claims; held jobs finish
 *     channels_stop(...);   // what is still out comes back (resumes)
 *     dispatcher_join(d);   // the last continuations run, then frees d
 */
#ifndef NUDGE_QUEUE_DISPATCHER_H
#define NUDGE_QUEUE_DISPATCHER_H

#include <stddef.h>

#include "core/redis.h"
#include "queues/delayed.h"

struct config;
struct dispatcher;

/* A handler's verdict on one job. */
enum job_result {
    JOB_OK,    /* done: the job is acknowledged and removed */
    JOB_RETRY, /* transient failure (err says why): tried again after a
                  backoff (queue.retry_base, retry_cap) unless this was
                  attempt queue.max_attempts, then dead */
    JOB_DEAD,  /* permanent failure, a corrupt payload say (err says
                  why): straight to the dead letters */
    JOB_HELD,  /* the handler called dispatcher_hold(): the job stays
                  claimed until dispatcher_resume() settles it. After
                  returning this, the caller must not touch the hold. */
    JOB_LATER, /* not now (its channel is paused, staff are off work):
                  due again in JOB_LATER_MS, or what the handler gave
                  dispatcher_later(), and this attempt does not count */
};
#define JOB_LATER_MS 1000

/* Called by a handler about to return JOB_LATER: the job is due again
 * delay_ms from now rather than JOB_LATER_MS (a staff message waiting
 * for working time: docs/policy.md). */
void dispatcher_later(const struct queue_job *job, int64_t delay_ms);

/* Called on a worker thread, concurrently with the other workers (ctx is
 * shared: protect what it points to). job and its strings are valid until
 * the handler returns. rc is the worker's own connection, connected, for
 * the handler's Redis reads and writes; leave it usable (or closed: the
 * worker reconnects). On JOB_RETRY and JOB_DEAD write a reason into err
 * (errlen bytes, NUL-terminated); it becomes the job's last error, shown
 * by `nudgectl queue dead`. A job whose payload is missing from Redis is
 * dead-lettered without calling the handler. Handlers see a job at least
 * once; twice only when a lease ran out (a killed or hung daemon, or a
 * handler slower than queue.lease), so they should be idempotent. */
typedef enum job_result (*job_handler)(const struct queue_job *job,
                                       struct rconn *rc, void *ctx, char *err,
                                       size_t errlen);

/* Optional, beside a handler: the reads that every job of a claimed
 * batch needs, made for the whole batch in one round trip rather than one
 * per job. prefetch runs on the worker before the batch's handlers, with
 * its connection; what it sets in jobs[i].pre the handler of jobs[i]
 * owns (and frees) from its call on. A job the worker gives back
 * unhandled (the daemon stops) goes to drop instead, which undoes what
 * the read claimed and frees pre. Both may leave a pre NULL: its handler
 * then reads for itself. */
struct job_hooks {
    job_handler handle;
    void (*prefetch)(struct queue_job *jobs, size_t n, struct rconn *rc,
                     void *ctx);
    void (*drop)(struct queue_job *job, struct rconn *rc, void *ctx);
};

/* Starts the waker and queue.workers worker threads. cfg must stay valid
 * until dispatcher_join() returns. stop is the daemon's flag (set by its
 * signal handler): workers stop claiming once it is set. The threads
 * inherit the caller's signal mask. Returns NULL with a reason in err
 * when the threads cannot start; Redis being down is not an error (the
 * workers reconnect with backoff). */
struct dispatcher *dispatcher_start(const struct config *cfg, job_handler fn,
                                    void *ctx, volatile int *stop, char *err,
                                    size_t errlen);
/* The same with a prefetch hook (hooks is copied). */
struct dispatcher *dispatcher_start_hooks(const struct config *cfg,
                                          const struct job_hooks *hooks,
                                          void *ctx, volatile int *stop,
                                          char *err, size_t errlen);

/* --- held jobs ------------------------------------------------------------ */

struct job_hold; /* a claimed job kept past its handler's return */

/* A continuation: runs on a worker with the held job (the hold's own
 * copy: a continuation may set job->retry_after_ms) and the worker's
 * connection; its verdict settles the job as a handler's does. */
typedef enum job_result (*job_resume_fn)(struct queue_job *job,
                                         struct rconn *rc, void *arg,
                                         char *err, size_t errlen);

/* Called by a handler (or a continuation, for the job it was given):
 * keeps job claimed after the call returns JOB_HELD. The hold copies the
 * job. NULL on no memory (then settle the job at once instead). A job
 * held a second time from its continuation returns the same hold. */
struct job_hold *dispatcher_hold(const struct queue_job *job);
/* From any thread: queues fn(job, rc, arg, ...) for a worker. Never
 * blocks. Each hold has at most one resume outstanding. */
void dispatcher_resume(struct job_hold *h, job_resume_fn fn, void *arg);
/* Jobs held now (for metrics and tests). */
int dispatcher_held(struct dispatcher *d);

/* Wakes every sleeping worker (they claim again). */
void dispatcher_wake(struct dispatcher *d);

/* Stops claiming (whether or not *stop is set) and waits until no job is
 * held, or queue.drain has passed. Workers keep running continuations. */
void dispatcher_drain(struct dispatcher *d);

/* Stops the workers (whether or not *stop is set): each finishes the job
 * its handler is running, hands the rest of its batch back to the queue
 * (lease ended, so another daemon takes them at once), runs the
 * continuations already queued, and exits. Jobs still held are left to
 * their leases (another daemon takes them when the lease ends). Then
 * frees d. */
void dispatcher_join(struct dispatcher *d);

#endif
