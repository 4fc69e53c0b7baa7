/*
 * delayed.h - the durable delayed queue: timed jobs kept in Redis, that
 * survive crashes of the daemon and of Redis (with appendonly) and that
 * several daemons share. Every timed step of a rule is one job.
 *
 * A job is an id (its idempotency key: scheduling an id that exists keeps
 * the first job), a payload (opaque bytes, a small JSON object in
 * practice) and a due time. The life of a job:
 *
 *   schedule -> due -> claim (lease) -> ack            (gone)
 *                 ^        |  \-> fail transient -> due again after backoff
 *                 |        |  \-> fail permanent, or last attempt -> dead
 *                 +--------+ lease expired (its daemon died)
 *   dead -> retry -> due
 *
 * Every step is one Lua script (queues/lua.c) that reads the time from
 * Redis, so daemons with skewed clocks agree on what is due, and no job is
 * held by two daemons while its lease is valid. Jobs are spread over
 * config queue.shards shards by a hash of the id; the keys are in
 * docs/redis.md.
 *
 * Threads: a struct queue belongs to one thread, over that thread's
 * struct rconn; open one per thread. Call queue_metrics_init() once
 * before starting threads (dispatcher_start() does).
 *
 * Errors: functions return -1 on failure with the reason in q->errstr
 * (a connection error also closes rc; rconn_ensure() brings it back).
 */
#ifndef NUDGE_QUEUE_DELAYED_H
#define NUDGE_QUEUE_DELAYED_H

#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/redis.h"

struct config;
struct queue;

/* Ids are text: 1 to QUEUE_ID_MAX bytes, no control bytes. */
#define QUEUE_ID_MAX 256
/* Claims take at most this many jobs per shard per call. */
#define QUEUE_BATCH_MAX 1000

/* --- opening ---------------------------------------------------------- */

/* A handle over rc (not owned: the caller keeps and frees rc) with the
 * prefix, shards and retry settings of cfg. Returns NULL on no memory.
 * Free with queue_close(). */
struct queue *queue_open(const struct config *cfg, struct rconn *rc);
void queue_close(struct queue *q);
/* The last error's text; valid until the next call on q. */
const char *queue_error(const struct queue *q);
/* The connection the handle uses. */
struct rconn *queue_conn(struct queue *q);
int queue_shards(const struct queue *q);

/* Test hooks: a clock (milliseconds) passed to the scripts instead of
 * Redis's TIME, and the uniform [0,1) source of the retry jitter. NULL
 * restores Redis's clock, backoff_random(). */
void queue_set_clock(struct queue *q, clock_fn now);
void queue_set_random(struct queue *q, double (*random)(void));

/* Registers the queue's metrics (nudge_queue_*). Idempotent. */
void queue_metrics_init(void);

/* --- producing -------------------------------------------------------- */

struct queue_new {
    const char *id;      /* idempotency key */
    const void *payload; /* len bytes, copied into Redis */
    size_t len;
    int64_t when_ms; /* a delay, or an absolute time when at is set */
    int at;          /* 0: due when_ms after Redis's now; 1: due at
                        when_ms (ms since the epoch) */
};

/* Schedules n jobs in one round trip per shard touched. Sets *added to
 * the number of new jobs (ids already queued, in flight or dead are left
 * alone). Returns 0 or -1. */
int queue_schedule_many(struct queue *q, const struct queue_new *jobs, size_t n,
                        size_t *added);
/* One job due delay_ms from now (Redis's clock). Returns 1 added, 0 the
 * id exists, -1 error. */
int queue_schedule(struct queue *q, const char *id, const void *payload,
                   size_t len, int64_t delay_ms);
/* One job due at at_ms (ms since the epoch). Same returns. */
int queue_schedule_at(struct queue *q, const char *id, const void *payload,
                      size_t len, int64_t at_ms);
/* Removes a job whatever its state (waiting, in flight: its ack will be
 * refused; dead). Returns 1 removed, 0 no such job, -1 error. */
int queue_cancel(struct queue *q, const char *id);

/* --- consuming -------------------------------------------------------- */

struct queue_job {
    char *id;
    char *payload; /* len bytes plus a NUL; NULL when the payload is
                      missing from Redis (a corrupt queue) */
    size_t len;
    int attempt;        /* 1 on the first claim; lease expiries count */
    int64_t due_ms;     /* when it was due (Redis's clock) */
    int64_t claimed_ms; /* when it was claimed (Redis's clock) */
    int shard;
    int64_t retry_after_ms; /* set by a handler: a transient failure is
                               retried no sooner than this (a provider's
                               Retry-After); 0: the backoff alone */
    int64_t later_ms; /* JOB_LATER: due again this long after (set by
                         dispatcher_later()); 0: JOB_LATER_MS */
    void *owner;            /* the dispatcher's, while it runs the job */
    void *pre; /* what the dispatcher's prefetch hook read for the job
                  (dispatcher.h): the handler's from its call on */
};

struct queue_batch {
    struct queue_job *jobs; /* n jobs in due order; owned by the batch */
    size_t n;
    int64_t next_in_ms; /* after the claim: ms until the shard's next due
                           job or lease deadline; -1 when it has none */
    int expired;        /* leases found expired and put back (or dead) */
    int expired_dead;   /* of which went to dead letters */
};

/* Claims up to max due jobs of one shard (0 <= shard < queue_shards())
 * with a lease of cfg queue.lease, after putting back the jobs whose
 * lease expired. Fills b (free with queue_batch_free() even on error).
 * Returns the number of jobs claimed, or -1. */
int queue_claim(struct queue *q, int shard, int max, struct queue_batch *b);
void queue_batch_free(struct queue_batch *b);

/* Acknowledges handled jobs (one round trip per shard and 1,000 jobs):
 * they are gone. Returns how many were still ours (a job whose lease
 * expired and was claimed again is not acked here), or -1. */
int queue_ack(struct queue *q, const struct queue_job *const *jobs, size_t n);
enum queue_failure {
    QUEUE_FAIL_TRANSIENT, /* retry after a backoff, unless last attempt */
    QUEUE_FAIL_PERMANENT, /* straight to the dead letters */
};
/* Records a failure with its reason (kept as the job's last error); a
 * transient one is due again after the backoff, or job->retry_after_ms
 * when that is longer. Returns 1 requeued, 2 dead, 0 the lease was lost,
 * -1 error. */
int queue_fail(struct queue *q, const struct queue_job *job,
               enum queue_failure kind, const char *reason);
/* Pushes the lease of a job still being handled to lease_ms from now.
 * Returns 1, 0 when the lease was already lost, -1 error. */
int queue_extend(struct queue *q, const struct queue_job *job,
                 int64_t lease_ms);

/* Gives a claimed job back unhandled (a daemon stopping): due at once,
 * for any daemon, and this attempt does not count. Returns 1, 0 when the
 * lease was already lost, -1 error. */
int queue_release(struct queue *q, const struct queue_job *job);
/* The same, due delay_ms from now (and no wake-up): a job that may not
 * run yet (its channel is paused) waits without counting an attempt. */
int queue_postpone(struct queue *q, const struct queue_job *job,
                   int64_t delay_ms);

/* The delay before attempt+1 after attempt failed (attempt from 1): full
 * jitter, uniform in [0, min(cap, base * 2^(attempt-1))]; r in [0, 1). */
int64_t queue_retry_delay(int64_t base_ms, int64_t cap_ms, int attempt,
                          double r);

/* --- operating -------------------------------------------------------- */

struct queue_stats {
    int64_t now_ms;      /* Redis's clock */
    long long pending;   /* waiting, due or not */
    long long due;       /* of which due now */
    long long scheduled; /* of which due later */
    long long in_flight; /* claimed, lease running */
    long long dead;
    int64_t oldest_lag_ms; /* how late the oldest due job is; 0 if none */
};
int queue_stats(struct queue *q, struct queue_stats *st);

struct queue_dead {
    char *id;
    int64_t died_ms;
    int attempts;
    char *error;   /* the last error */
    char *payload; /* len bytes plus a NUL */
    size_t len;
};
/* The oldest dead letters, at most max per shard, into *out (an array of
 * *n; free with queue_dead_free()). Returns 0 or -1. */
int queue_dead_list(struct queue *q, size_t max, struct queue_dead **out,
                    size_t *n);
void queue_dead_free(struct queue_dead *d, size_t n);
/* Puts dead letter id back, due now, attempts reset. Returns 1, 0 when
 * id is no dead letter, -1 error. */
int queue_retry_dead(struct queue *q, const char *id);

/* --- names ------------------------------------------------------------ */

/* The shard of an id among nshards (FNV-1a). */
int queue_shard_of(const char *id, int nshards);
/* prefix + "q:{" shard "}:" part, part one of due, lease, jobs,
 * attempts, dead, errors. Returns the length or -1. */
int queue_key(char *buf, size_t n, const char *prefix, int shard,
              const char *part);
/* The pub/sub channel that wakes dispatchers: prefix + "q:wake". */
int queue_wake_channel(char *buf, size_t n, const char *prefix);

#endif
