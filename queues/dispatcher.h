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
 *     dispatcher_join(d);   // finishes the jobs in hand, then frees d
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
};

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

/* Starts the waker and queue.workers worker threads. cfg must stay valid
 * until dispatcher_join() returns. stop is the daemon's flag (set by its
 * signal handler): workers stop claiming once it is set. The threads
 * inherit the caller's signal mask. Returns NULL with a reason in err
 * when the threads cannot start; Redis being down is not an error (the
 * workers reconnect with backoff). */
struct dispatcher *dispatcher_start(const struct config *cfg, job_handler fn,
                                    void *ctx, volatile int *stop, char *err,
                                    size_t errlen);

/* Wakes every sleeping worker (they claim again). */
void dispatcher_wake(struct dispatcher *d);

/* Stops the workers (whether or not *stop is set): each finishes the job
 * its handler is running, hands the rest of its batch back to the queue
 * (lease ended, so another daemon takes them at once), and exits. Then
 * frees d. */
void dispatcher_join(struct dispatcher *d);

#endif
