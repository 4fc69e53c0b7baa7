/*
 * test_queue.c - the delayed queue against a throwaway redis-server: due
 * order, idempotency, cancel, leases, the backoff schedule and dead
 * letters (with an injected clock), shards, and the dispatcher.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/metrics.h"
#include "core/reply.h"
#include "queues/delayed.h"
#include "queues/dispatcher.h"
#include "tests/support/redis_server.h"
#include "tests/support/check_run.h"

#define T0 1700000000000LL /* the injected clock's start */

static struct test_redis server;
static struct config cfg;
static struct rconn *rc;
static struct queue *q;
static int64_t fake_now;
static atomic_int handled, rejected; /* by the dispatcher tests' handlers */

static int64_t fake_clock(void)
{
    return fake_now;
}

static double half(void)
{
    return 0.5;
}

static void server_up(void)
{
    memset(&server, 0, sizeof server);
    if (test_redis_start(&server) < 0)
        abort();
}

static void server_down(void)
{
    test_redis_stop(&server);
}

/* A fresh, empty database and a queue on the injected clock. */
static void setup(void)
{
    redisReply *r;

    ck_assert_int_eq(config_defaults(&cfg), 0);
    free(cfg.redis.address);
    cfg.redis.address = strdup(server.address);
    cfg.queue.lease_ms = 60000;
    cfg.queue.retry_base_ms = 1000;
    cfg.queue.retry_cap_ms = 8000;
    cfg.queue.max_attempts = 6;
    rc = rconn_new_addr(server.address, NULL, 0, NULL);
    ck_assert_ptr_nonnull(rc);
    ck_assert_int_eq(rconn_connect(rc), 0);
    r = rconn_cmd(rc, "FLUSHALL");
    ck_assert_ptr_nonnull(r);
    reply_free(r);
    q = queue_open(&cfg, rc);
    ck_assert_ptr_nonnull(q);
    fake_now = T0;
    atomic_store(&handled, 0);
    atomic_store(&rejected, 0);
    queue_set_clock(q, fake_clock);
    queue_set_random(q, half);
}

static void teardown(void)
{
    queue_close(q);
    rconn_free(rc);
    config_free(&cfg);
}

static void schedule(const char *id, const char *payload, int64_t delay)
{
    ck_assert_int_eq(queue_schedule(q, id, payload, strlen(payload), delay), 1);
}

/* Claims and returns exactly one job (the caller frees the batch). */
static struct queue_job *claim_one(struct queue_batch *b)
{
    ck_assert_int_eq(queue_claim(q, 0, 10, b), 1);
    return &b->jobs[0];
}

static long long zscore(const char *key, const char *id)
{
    redisReply *r = rconn_cmd(rc, "ZSCORE %s %s", key, id);
    long long v = -1;

    ck_assert_ptr_nonnull(r);
    if (r->type == REDIS_REPLY_STRING)
        v = atoll(r->str);
    reply_free(r);
    return v;
}

/* --- producing and claiming ------------------------------------------ */

static const struct {
    const char *id;
    int64_t delay;
} order_cases[] = {
    {"e", 500},
    {"b", 100},
    {"d", 300},
    {"a", 0},
    {"c", 200},
    /* same due time as "c": ties go by id */
    {"bb", 200},
};

START_TEST(test_due_order)
{
    const char *want[] = {"a", "b", "bb", "c", "d", "e"};
    struct queue_batch b;

    for (size_t i = 0; i < sizeof order_cases / sizeof order_cases[0]; i++)
        schedule(order_cases[i].id, "{}", order_cases[i].delay);
    fake_now = T0 + 250;
    ck_assert_int_eq(queue_claim(q, 0, 100, &b), 4);
    for (size_t i = 0; i < b.n; i++) {
        ck_assert_str_eq(b.jobs[i].id, want[i]);
        ck_assert_int_eq(b.jobs[i].attempt, 1);
        ck_assert_int_le(b.jobs[i].due_ms, T0 + 250);
        ck_assert_int_eq(b.jobs[i].claimed_ms, T0 + 250);
    }
    ck_assert_int_eq(b.jobs[2].due_ms, T0 + 200);
    /* the next job ("d") is due in 50 ms */
    ck_assert_int_eq(b.next_in_ms, 50);
    queue_batch_free(&b);
    fake_now = T0 + 1000;
    ck_assert_int_eq(queue_claim(q, 0, 100, &b), 2);
    ck_assert_str_eq(b.jobs[0].id, "d");
    ck_assert_str_eq(b.jobs[1].id, "e");
    queue_batch_free(&b);
}
END_TEST

START_TEST(test_not_due_yet)
{
    struct queue_batch b;

    ck_assert_int_eq(queue_claim(q, 0, 10, &b), 0);
    ck_assert_int_eq(b.next_in_ms, -1); /* nothing at all */
    queue_batch_free(&b);
    schedule("later", "{}", 1000);
    fake_now = T0 + 999;
    ck_assert_int_eq(queue_claim(q, 0, 10, &b), 0);
    ck_assert_int_eq(b.next_in_ms, 1);
    queue_batch_free(&b);
    ck_assert_int_eq(queue_schedule_at(q, "abs", "x", 1, T0 + 500), 1);
    ck_assert_int_eq(queue_claim(q, 0, 10, &b), 1);
    ck_assert_str_eq(b.jobs[0].id, "abs");
    ck_assert_int_eq(b.jobs[0].due_ms, T0 + 500);
    queue_batch_free(&b);
}
END_TEST

START_TEST(test_idempotency)
{
    struct queue_new twice[] = {
        {"k2", "first", 5, 0, 0},
        {"k2", "second", 6, 0, 0}, /* same key in one batch */
        {"k3", "x", 1, 0, 0},
    };
    struct queue_batch b;
    size_t added;

    ck_assert_int_eq(queue_schedule(q, "k1", "first", 5, 0), 1);
    ck_assert_int_eq(queue_schedule(q, "k1", "second", 6, 0), 0);
    ck_assert_int_eq(queue_schedule_many(q, twice, 3, &added), 0);
    ck_assert_int_eq(added, 2);
    ck_assert_int_eq(queue_claim(q, 0, 10, &b), 3);
    for (size_t i = 0; i < b.n; i++)
        if (strcmp(b.jobs[i].id, "k3") != 0)
            ck_assert_str_eq(b.jobs[i].payload, "first");
    /* in flight, the key is still taken */
    ck_assert_int_eq(queue_schedule(q, "k1", "third", 5, 0), 0);
    queue_batch_free(&b);
}
END_TEST

START_TEST(test_invalid_id)
{
    ck_assert_int_eq(queue_schedule(q, "", "x", 1, 0), -1);
    ck_assert_int_eq(queue_schedule(q, "a\nb", "x", 1, 0), -1);
    ck_assert_ptr_nonnull(strstr(queue_error(q), "invalid job id"));
}
END_TEST

START_TEST(test_cancel)
{
    struct queue_batch b;
    const struct queue_job *j;

    schedule("c1", "{}", 100);
    ck_assert_int_eq(queue_cancel(q, "c1"), 1);
    ck_assert_int_eq(queue_cancel(q, "c1"), 0);
    fake_now = T0 + 1000;
    ck_assert_int_eq(queue_claim(q, 0, 10, &b), 0);
    queue_batch_free(&b);
    /* cancelled in flight: the holder's ack finds nothing */
    schedule("c2", "{}", 0);
    j = claim_one(&b);
    ck_assert_int_eq(queue_cancel(q, "c2"), 1);
    ck_assert_int_eq(queue_ack(q, &j, 1), 0);
    queue_batch_free(&b);
    /* the key is free again */
    schedule("c1", "{}", 0);
}
END_TEST

/* --- leases ------------------------------------------------------------ */

START_TEST(test_lease_expiry)
{
    struct queue_batch b1, b2;
    const struct queue_job *old, *again;
    struct queue_stats st;

    schedule("L", "{\"n\":1}", 0);
    old = claim_one(&b1);
    ck_assert_int_eq(old->attempt, 1);
    /* held: nobody else gets it while the lease runs */
    fake_now = T0 + 59999;
    ck_assert_int_eq(queue_claim(q, 0, 10, &b2), 0);
    ck_assert_int_eq(b2.next_in_ms, 1); /* the lease deadline */
    queue_batch_free(&b2);
    /* the holder died: at the deadline the job comes back */
    fake_now = T0 + 60000;
    again = claim_one(&b2);
    ck_assert_int_eq(b2.expired, 1);
    ck_assert_str_eq(again->id, "L");
    ck_assert_str_eq(again->payload, "{\"n\":1}");
    ck_assert_int_eq(again->attempt, 2);
    /* the old holder's ack and failure are refused, the new one's not */
    ck_assert_int_eq(queue_ack(q, &old, 1), 0);
    ck_assert_int_eq(queue_fail(q, old, QUEUE_FAIL_PERMANENT, "x"), 0);
    ck_assert_int_eq(queue_ack(q, &again, 1), 1);
    ck_assert_int_eq(queue_stats(q, &st), 0);
    ck_assert_int_eq(st.pending + st.in_flight + st.dead, 0);
    queue_batch_free(&b1);
    queue_batch_free(&b2);
}
END_TEST

START_TEST(test_extend)
{
    struct queue_batch b1, b2;
    const struct queue_job *j;

    schedule("E", "{}", 0);
    j = claim_one(&b1);
    fake_now = T0 + 30000;
    ck_assert_int_eq(queue_extend(q, j, 120000), 1);
    fake_now = T0 + 60000;
    ck_assert_int_eq(queue_claim(q, 0, 10, &b2), 0);
    ck_assert_int_eq(b2.expired, 0);
    queue_batch_free(&b2);
    fake_now = T0 + 150000;
    ck_assert_int_eq(queue_claim(q, 0, 10, &b2), 1);
    /* the lease is lost now: extending fails */
    ck_assert_int_eq(queue_extend(q, j, 1000), 0);
    queue_batch_free(&b1);
    queue_batch_free(&b2);
}
END_TEST

START_TEST(test_lease_expiry_last_attempt)
{
    struct queue_batch b;
    struct queue_dead *d;
    size_t n;

    cfg.queue.max_attempts = 2;
    queue_close(q);
    q = queue_open(&cfg, rc);
    queue_set_clock(q, fake_clock);
    schedule("P", "{}", 0); /* a poison job that kills its daemon */
    for (int i = 1; i <= 2; i++) {
        ck_assert_int_eq(claim_one(&b)->attempt, i);
        queue_batch_free(&b);
        fake_now += 60000;
    }
    ck_assert_int_eq(queue_claim(q, 0, 10, &b), 0);
    ck_assert_int_eq(b.expired_dead, 1);
    queue_batch_free(&b);
    ck_assert_int_eq(queue_dead_list(q, 10, &d, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(d[0].error, "lease expired on attempt 2");
    queue_dead_free(d, n);
}
END_TEST

START_TEST(test_release)
{
    struct queue_batch b;
    const struct queue_job *j;

    schedule("R", "{}", 0);
    j = claim_one(&b);
    ck_assert_int_eq(queue_release(q, j), 1);
    ck_assert_int_eq(queue_release(q, j), 0); /* not ours any more */
    queue_batch_free(&b);
    /* due at once, and the given-back attempt did not count */
    ck_assert_int_eq(claim_one(&b)->attempt, 1);
    queue_batch_free(&b);
}
END_TEST

/* A paused job (JOB_LATER) waits without counting an attempt, however
 * often it comes round. */
START_TEST(test_postpone)
{
    struct queue_batch b;
    const struct queue_job *j;

    schedule("L", "{}", 0);
    for (int i = 0; i < 10; i++) { /* more than max_attempts */
        j = claim_one(&b);
        ck_assert_int_eq(j->attempt, 1);
        ck_assert_int_eq(queue_postpone(q, j, 1000), 1);
        ck_assert_int_eq(queue_postpone(q, j, 1000), 0); /* not ours */
        queue_batch_free(&b);
        fake_now += 999; /* not due yet */
        ck_assert_int_eq(queue_claim(q, 0, 10, &b), 0);
        queue_batch_free(&b);
        fake_now += 1;
    }
    ck_assert_int_eq(claim_one(&b)->attempt, 1);
    queue_batch_free(&b);
}
END_TEST

/* --- retries and dead letters ------------------------------------------- */

/* base 1s, cap 8s, full jitter with r = 0.5: half the ceiling (+0.5). */
static const struct {
    int attempt;
    int64_t delay; /* after this attempt fails */
} backoff_cases[] = {
    {1, 500},  /* ceiling 1s */
    {2, 1000}, /* 2s */
    {3, 2000}, /* 4s */
    {4, 4000}, /* 8s */
    {5, 4000}, /* capped at 8s */
    {6, -1},   /* max_attempts 6: dead */
};

START_TEST(test_backoff_schedule)
{
    char due_key[128];

    queue_key(due_key, sizeof due_key, "slm:", 0, "due");
    schedule("B", "{}", 0);
    for (size_t i = 0; i < sizeof backoff_cases / sizeof backoff_cases[0];
         i++) {
        struct queue_batch b;
        const struct queue_job *j = claim_one(&b);
        int64_t failed_at = fake_now;
        ck_assert_int_eq(j->attempt, backoff_cases[i].attempt);
        if (backoff_cases[i].delay < 0) {
            ck_assert_int_eq(queue_fail(q, j, QUEUE_FAIL_TRANSIENT, "boom"), 2);
        } else {
            ck_assert_int_eq(queue_fail(q, j, QUEUE_FAIL_TRANSIENT, "boom"), 1);
            ck_assert_int_eq(zscore(due_key, "B"),
                             failed_at + backoff_cases[i].delay);
            /* not a millisecond early */
            fake_now = failed_at + backoff_cases[i].delay - 1;
            queue_batch_free(&b);
            ck_assert_int_eq(queue_claim(q, 0, 10, &b), 0);
            fake_now++;
        }
        queue_batch_free(&b);
    }
}
END_TEST

static const struct {
    int64_t base, cap;
    int attempt;
    double r;
    int64_t delay;
} delay_cases[] = {
    {30000, 3600000, 1, 0.0, 0},               /* full jitter can be zero */
    {30000, 3600000, 1, 0.999999, 30000},      /* up to base */
    {30000, 3600000, 3, 0.5, 60000},           /* 4 * base / 2 */
    {30000, 3600000, 20, 0.5, 1800000},        /* capped */
    {30000, 3600000, 1000, 0.999999, 3599997}, /* no overflow */
};

START_TEST(test_retry_delay)
{
    ck_assert_int_eq(
        queue_retry_delay(delay_cases[_i].base, delay_cases[_i].cap,
                          delay_cases[_i].attempt, delay_cases[_i].r),
        delay_cases[_i].delay);
}
END_TEST

START_TEST(test_dead_and_retry)
{
    struct queue_batch b;
    struct queue_dead *d;
    struct queue_stats st;
    size_t n;

    schedule("D", "{\"x\":1}", 0);
    ck_assert_int_eq(queue_fail(q, claim_one(&b), QUEUE_FAIL_PERMANENT,
                                "corrupt payload: bad JSON"),
                     2);
    queue_batch_free(&b);
    ck_assert_int_eq(queue_stats(q, &st), 0);
    ck_assert_int_eq(st.dead, 1);
    ck_assert_int_eq(st.in_flight, 0);
    ck_assert_int_eq(queue_dead_list(q, 10, &d, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(d[0].id, "D");
    ck_assert_str_eq(d[0].error, "corrupt payload: bad JSON");
    ck_assert_str_eq(d[0].payload, "{\"x\":1}");
    ck_assert_int_eq(d[0].attempts, 1);
    ck_assert_int_eq(d[0].died_ms, T0);
    queue_dead_free(d, n);
    /* the key stays taken while dead */
    ck_assert_int_eq(queue_schedule(q, "D", "{}", 2, 0), 0);
    ck_assert_int_eq(queue_retry_dead(q, "nope"), 0);
    ck_assert_int_eq(queue_retry_dead(q, "D"), 1);
    ck_assert_int_eq(queue_retry_dead(q, "D"), 0);
    ck_assert_int_eq(claim_one(&b)->attempt, 1);
    ck_assert_str_eq(b.jobs[0].payload, "{\"x\":1}");
    queue_batch_free(&b);
}
END_TEST

START_TEST(test_missing_payload)
{
    struct queue_batch b;

    schedule("M", "{}", 0);
    reply_free(rconn_cmd(rc, "HDEL slm:q:{0}:jobs M"));
    claim_one(&b);
    ck_assert_ptr_null(b.jobs[0].payload);
    queue_batch_free(&b);
}
END_TEST

START_TEST(test_stats)
{
    struct queue_batch b;
    struct queue_stats st;

    schedule("s1", "{}", 0);
    schedule("s2", "{}", 10);
    schedule("s3", "{}", 20);
    schedule("s4", "{}", 5000);
    schedule("s5", "{}", 9000);
    fake_now = T0 + 100;
    ck_assert_int_eq(queue_claim(q, 0, 1, &b), 1);
    queue_batch_free(&b);
    ck_assert_int_eq(queue_stats(q, &st), 0);
    ck_assert_int_eq(st.pending, 4);
    ck_assert_int_eq(st.due, 2);
    ck_assert_int_eq(st.scheduled, 2);
    ck_assert_int_eq(st.in_flight, 1);
    ck_assert_int_eq(st.dead, 0);
    ck_assert_int_eq(st.oldest_lag_ms, 90); /* s2, due at T0 + 10 */
    ck_assert_int_eq(st.now_ms, T0 + 100);
}
END_TEST

/* --- shards ------------------------------------------------------------ */

static const struct {
    int shard;
    const char *part, *key;
} key_cases[] = {
    {0, "due", "slm:q:{0}:due"},
    {7, "lease", "slm:q:{7}:lease"},
    {1023, "dead", "slm:q:{1023}:dead"},
};

START_TEST(test_keys)
{
    char buf[64];

    ck_assert_int_gt(queue_key(buf, sizeof buf, "slm:", key_cases[_i].shard,
                               key_cases[_i].part),
                     0);
    ck_assert_str_eq(buf, key_cases[_i].key);
    ck_assert_int_eq(queue_key(buf, 8, "slm:", 0, "due"), -1);
}
END_TEST

START_TEST(test_shards)
{
    struct queue_new jobs[200];
    char ids[200][16];
    int per_shard[4] = {0}, total = 0;
    size_t added;

    cfg.queue.shards = 4;
    queue_close(q);
    q = queue_open(&cfg, rc);
    queue_set_clock(q, fake_clock);
    for (int i = 0; i < 200; i++) {
        snprintf(ids[i], sizeof ids[i], "job%d", i);
        jobs[i] = (struct queue_new){ids[i], "{}", 2, i, 0};
        per_shard[queue_shard_of(ids[i], 4)]++;
    }
    ck_assert_int_eq(queue_schedule_many(q, jobs, 200, &added), 0);
    ck_assert_int_eq(added, 200);
    fake_now = T0 + 1000;
    for (int s = 0; s < 4; s++) {
        struct queue_batch b;
        ck_assert_int_gt(per_shard[s], 10); /* spread, roughly */
        ck_assert_int_eq(queue_claim(q, s, 1000, &b), per_shard[s]);
        for (size_t i = 0; i < b.n; i++)
            ck_assert_int_eq(queue_shard_of(b.jobs[i].id, 4), s);
        total += (int)b.n;
        queue_batch_free(&b);
    }
    ck_assert_int_eq(total, 200);
}
END_TEST

/* --- metrics ------------------------------------------------------------ */

static int64_t counter(const char *name)
{
    return metric_value(metric_counter(name, "", NULL));
}

START_TEST(test_metrics)
{
    struct queue_batch b;
    const struct queue_job *j;
    char *text;
    /* the registry is the process's: compare with the counts before */
    int64_t sched = counter("nudge_queue_scheduled_total"),
            claimed = counter("nudge_queue_claimed_total"),
            acked = counter("nudge_queue_acked_total"),
            retried = counter("nudge_queue_retried_total"),
            dead = counter("nudge_queue_dead_total"),
            expired = counter("nudge_queue_lease_expired_total");

    schedule("m1", "{}", 0);
    schedule("m2", "{}", 0);
    schedule("m3", "{}", 0);
    ck_assert_int_eq(queue_schedule(q, "m3", "{}", 2, 0), 0);
    fake_now = T0 + 40;
    ck_assert_int_eq(queue_claim(q, 0, 10, &b), 3);
    j = &b.jobs[0];
    ck_assert_int_eq(queue_ack(q, &j, 1), 1);
    ck_assert_int_eq(queue_fail(q, &b.jobs[1], QUEUE_FAIL_TRANSIENT, "x"), 1);
    ck_assert_int_eq(queue_fail(q, &b.jobs[2], QUEUE_FAIL_PERMANENT, "x"), 2);
    queue_batch_free(&b);
    ck_assert_int_eq(counter("nudge_queue_scheduled_total") - sched, 3);
    ck_assert_int_eq(counter("nudge_queue_claimed_total") - claimed, 3);
    ck_assert_int_eq(counter("nudge_queue_acked_total") - acked, 1);
    ck_assert_int_eq(counter("nudge_queue_retried_total") - retried, 1);
    ck_assert_int_eq(counter("nudge_queue_dead_total") - dead, 1);
    fake_now += 120000; /* m2's retry is claimed, and its lease runs out */
    ck_assert_int_eq(queue_claim(q, 0, 10, &b), 1);
    queue_batch_free(&b);
    fake_now += 60000;
    ck_assert_int_eq(queue_claim(q, 0, 10, &b), 1);
    queue_batch_free(&b);
    ck_assert_int_eq(counter("nudge_queue_lease_expired_total") - expired, 1);
    text = metrics_render();
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "nudge_queue_firing_lag_seconds"));
    free(text);
}
END_TEST

/* --- the dispatcher, on the real clock -------------------------------- */

static enum job_result count_job(const struct queue_job *job,
                                 struct rconn *conn, void *ctx, char *err,
                                 size_t errlen)
{
    (void)conn;
    (void)ctx;
    if (job->payload[0] != '{') {
        snprintf(err, errlen, "corrupt payload: not a JSON object");
        atomic_fetch_add(&rejected, 1);
        return JOB_DEAD;
    }
    atomic_fetch_add(&handled, 1);
    return JOB_OK;
}

static int wait_count(atomic_int *n, int want, int64_t ms)
{
    int64_t end = clock_mono_ms() + ms;

    while (atomic_load(n) < want && clock_mono_ms() < end)
        clock_sleep_ms(5, NULL);
    return atomic_load(n);
}

START_TEST(test_dispatcher)
{
    struct queue_new jobs[500];
    char ids[500][16], err[256];
    volatile int stop = 0;
    struct dispatcher *d;
    struct queue_dead *dead;
    size_t added, n;
    int64_t t;

    queue_set_clock(q, NULL);
    cfg.queue.workers = 3;
    cfg.queue.batch = 50;
    cfg.queue.max_sleep_ms = 10000; /* so only a wake-up can be quick */
    for (int i = 0; i < 500; i++) {
        snprintf(ids[i], sizeof ids[i], "j%d", i);
        jobs[i] = (struct queue_new){ids[i], "{}", 2, 0, 0};
    }
    jobs[7].payload = "garbage";
    jobs[7].len = 7;
    ck_assert_int_eq(queue_schedule_many(q, jobs, 500, &added), 0);
    d = dispatcher_start(&cfg, count_job, NULL, &stop, err, sizeof err);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(wait_count(&handled, 499, 5000), 499);
    ck_assert_int_eq(atomic_load(&rejected), 1);
    /* all sleep now (10 s); a job for now must still fire at once */
    clock_sleep_ms(100, NULL);
    t = clock_mono_ms();
    ck_assert_int_eq(queue_schedule(q, "late", "{}", 2, 0), 1);
    ck_assert_int_eq(wait_count(&handled, 500, 2000), 500);
    ck_assert_int_lt(clock_mono_ms() - t, 500);
    /* and one due in 300 ms fires then, not 10 s later */
    ck_assert_int_eq(queue_schedule(q, "timed", "{}", 2, 300), 1);
    ck_assert_int_eq(wait_count(&handled, 501, 2000), 501);
    stop = 1;
    dispatcher_join(d);
    ck_assert_int_eq(queue_dead_list(q, 10, &dead, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(dead[0].id, "j7");
    ck_assert_str_eq(dead[0].error, "corrupt payload: not a JSON object");
    queue_dead_free(dead, n);
}
END_TEST

static int64_t handler_sleep_ms;

static enum job_result slow_job(const struct queue_job *job, struct rconn *conn,
                                void *ctx, char *err, size_t errlen)
{
    char key[64];
    redisReply *r;

    (void)ctx;
    (void)err;
    (void)errlen;
    snprintf(key, sizeof key, "test:handled:%s", job->id);
    r = rconn_cmd(conn, "INCR %s", key);
    if (r)
        reply_free(r);
    clock_sleep_ms(handler_sleep_ms, NULL);
    atomic_fetch_add(&handled, 1);
    return JOB_OK;
}

static long long get_int(const char *key)
{
    redisReply *r = rconn_cmd(rc, "GET %s", key);
    long long v = r && r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;

    if (r)
        reply_free(r);
    return v;
}

/* Handlers slower than half the lease: the dispatcher renews the leases
 * of the batch, so the second worker never takes a job twice. */
START_TEST(test_dispatcher_slow_batch)
{
    char err[256], key[64];
    volatile int stop = 0;
    struct dispatcher *d;
    struct queue_new jobs[5];
    char ids[5][16];
    size_t added;

    queue_set_clock(q, NULL);
    cfg.queue.workers = 2;
    cfg.queue.batch = 5;
    cfg.queue.lease_ms = 500; /* 300 ms of slack for a loaded machine */
    handler_sleep_ms = 300;
    for (int i = 0; i < 5; i++) {
        snprintf(ids[i], sizeof ids[i], "w%d", i);
        jobs[i] = (struct queue_new){ids[i], "{}", 2, 0, 0};
    }
    ck_assert_int_eq(queue_schedule_many(q, jobs, 5, &added), 0);
    d = dispatcher_start(&cfg, slow_job, NULL, &stop, err, sizeof err);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(wait_count(&handled, 5, 5000), 5);
    clock_sleep_ms(600, NULL); /* a second run would show by now */
    stop = 1;
    dispatcher_join(d);
    ck_assert_int_eq(atomic_load(&handled), 5);
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "test:handled:w%d", i);
        ck_assert_int_eq(get_int(key), 1);
    }
}
END_TEST

/* Stopping mid-batch: the unhandled rest is due again at once, with its
 * attempt not counted. */
START_TEST(test_dispatcher_stop_gives_back)
{
    char err[256];
    volatile int stop = 0;
    struct dispatcher *d;
    struct queue_stats st;
    struct queue_batch b;
    struct queue_new jobs[10];
    char ids[10][16];
    size_t added;
    int done;

    queue_set_clock(q, NULL);
    cfg.queue.workers = 1;
    cfg.queue.batch = 10;
    handler_sleep_ms = 50;
    for (int i = 0; i < 10; i++) {
        snprintf(ids[i], sizeof ids[i], "g%d", i);
        jobs[i] = (struct queue_new){ids[i], "{}", 2, 0, 0};
    }
    ck_assert_int_eq(queue_schedule_many(q, jobs, 10, &added), 0);
    d = dispatcher_start(&cfg, slow_job, NULL, &stop, err, sizeof err);
    ck_assert_ptr_nonnull(d);
    wait_count(&handled, 2, 5000);
    dispatcher_join(d);
    done = atomic_load(&handled);
    ck_assert_int_lt(done, 10);
    ck_assert_int_eq(queue_stats(q, &st), 0);
    ck_assert_int_eq(st.in_flight, 0);
    ck_assert_int_eq(st.due, 10 - done);
    ck_assert_int_eq(queue_claim(q, 0, 10, &b), 10 - done);
    for (size_t i = 0; i < b.n; i++)
        ck_assert_int_eq(b.jobs[i].attempt, 1);
    queue_batch_free(&b);
}
END_TEST

/* --- prefetch: the batch's reads before its handlers ------------------- */

static atomic_int prefetches, prefetched, dropped, pre_seen;

/* Reads each job's "value" (a Redis key named after it) for the batch in
 * one pipeline, as the engine's prefetch reads its students. */
static void prefetch_values(struct queue_job *jobs, size_t n,
                            struct rconn *conn, void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&prefetches, 1);
    for (size_t i = 0; i < n; i++)
        rconn_append(conn, "GET test:value:%s", jobs[i].id);
    for (size_t i = 0; i < n; i++) {
        redisReply *r = rconn_reply(conn);
        if (r && r->type == REDIS_REPLY_STRING)
            jobs[i].pre = strdup(r->str);
        if (r)
            reply_free(r);
        atomic_fetch_add(&prefetched, 1);
    }
}

static void drop_value(struct queue_job *job, struct rconn *conn, void *ctx)
{
    (void)conn;
    (void)ctx;
    free(job->pre);
    atomic_fetch_add(&dropped, 1);
}

/* Counts the jobs whose prefetched value is theirs ("v" + id). */
static enum job_result use_value(const struct queue_job *job,
                                 struct rconn *conn, void *ctx, char *err,
                                 size_t errlen)
{
    (void)conn;
    (void)ctx;
    (void)err;
    (void)errlen;
    if (job->pre && strcmp(job->pre, "v") > 0 &&
        strcmp((char *)job->pre + 1, job->id) == 0)
        atomic_fetch_add(&pre_seen, 1);
    free(job->pre);
    clock_sleep_ms(handler_sleep_ms, NULL);
    atomic_fetch_add(&handled, 1);
    return JOB_OK;
}

static void schedule_valued(const char *prefix, int n)
{
    struct queue_new jobs[30];
    char ids[30][16];
    size_t added;
    redisReply *r;

    atomic_store(&prefetches, 0);
    atomic_store(&prefetched, 0);
    atomic_store(&dropped, 0);
    atomic_store(&pre_seen, 0);
    for (int i = 0; i < n; i++) {
        snprintf(ids[i], sizeof ids[i], "%s%d", prefix, i);
        jobs[i] = (struct queue_new){ids[i], "{}", 2, 0, 0};
        r = rconn_cmd(rc, "SET test:value:%s v%s", ids[i], ids[i]);
        ck_assert_ptr_nonnull(r);
        reply_free(r);
    }
    ck_assert_int_eq(queue_schedule_many(q, jobs, (size_t)n, &added), 0);
}

/* One prefetch per claimed batch; each handler gets its own job's read. */
START_TEST(test_dispatcher_prefetch)
{
    struct job_hooks hooks = {use_value, prefetch_values, drop_value};
    char err[256];
    volatile int stop = 0;
    struct dispatcher *d;

    queue_set_clock(q, NULL);
    cfg.queue.workers = 1;
    cfg.queue.batch = 10;
    handler_sleep_ms = 0;
    schedule_valued("p", 30);
    d = dispatcher_start_hooks(&cfg, &hooks, NULL, &stop, err, sizeof err);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(wait_count(&handled, 30, 5000), 30);
    stop = 1;
    dispatcher_join(d);
    ck_assert_int_eq(atomic_load(&pre_seen), 30);
    ck_assert_int_eq(atomic_load(&prefetched), 30);
    ck_assert_int_eq(atomic_load(&prefetches), 3);
    ck_assert_int_eq(atomic_load(&dropped), 0);
}
END_TEST

/* Stopping mid-batch: the reads of the jobs given back go to drop (what
 * the engine's prefetch claimed is undone there; ASan sees a leak if
 * not). */
START_TEST(test_dispatcher_prefetch_dropped)
{
    struct job_hooks hooks = {use_value, prefetch_values, drop_value};
    char err[256];
    volatile int stop = 0;
    struct dispatcher *d;
    int done;

    queue_set_clock(q, NULL);
    cfg.queue.workers = 1;
    cfg.queue.batch = 10;
    handler_sleep_ms = 50;
    schedule_valued("x", 10);
    d = dispatcher_start_hooks(&cfg, &hooks, NULL, &stop, err, sizeof err);
    ck_assert_ptr_nonnull(d);
    wait_count(&handled, 2, 5000);
    dispatcher_join(d);
    done = atomic_load(&handled);
    ck_assert_int_lt(done, 10);
    ck_assert_int_eq(atomic_load(&pre_seen), done);
    ck_assert_int_eq(atomic_load(&dropped), 10 - done);
}
END_TEST

/* --- held jobs: a handler that hands its jobs to a slow "provider" ------ */

/* The provider: holds are resumed once their time has come, on its own
 * thread, as a channel's report would be. */
struct provider_item {
    struct job_hold *h;
    int64_t due_ms;
};

static struct provider_item prov_items[1000];
static int prov_n, prov_quit;
static int64_t prov_delay_ms, prov_slow_ms;
static pthread_mutex_t prov_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int resumed_twice; /* continuations for a job seen before */

static enum job_result after_provider(struct queue_job *job, struct rconn *conn,
                                      void *arg, char *err, size_t errlen)
{
    char key[64];
    redisReply *r;

    (void)arg;
    snprintf(key, sizeof key, "test:done:%s", job->id);
    r = rconn_cmd(conn, "INCR %s", key);
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 1)
        atomic_fetch_add(&resumed_twice, 1);
    if (r)
        reply_free(r);
    /* "r" jobs fail once: retried after at least 200 ms (Retry-After) */
    if (job->id[0] == 'r' && job->attempt == 1) {
        job->retry_after_ms = 200;
        snprintf(err, errlen, "provider said 429");
        return JOB_RETRY;
    }
    atomic_fetch_add(&handled, 1);
    return JOB_OK;
}

static enum job_result hold_job(const struct queue_job *job,
                                struct rconn *conn, void *ctx, char *err,
                                size_t errlen)
{
    struct job_hold *h = dispatcher_hold(job);

    (void)conn;
    (void)ctx;
    (void)err;
    (void)errlen;
    ck_assert_ptr_nonnull(h);
    pthread_mutex_lock(&prov_mu);
    prov_items[prov_n].h = h;
    prov_items[prov_n++].due_ms =
        clock_mono_ms() + (job->id[0] == 's' ? prov_slow_ms : prov_delay_ms);
    pthread_mutex_unlock(&prov_mu);
    return JOB_HELD;
}

static void *provider_main(void *arg)
{
    (void)arg;
    while (!prov_quit) {
        pthread_mutex_lock(&prov_mu);
        for (int i = 0; i < prov_n; i++)
            if (prov_items[i].h && prov_items[i].due_ms <= clock_mono_ms()) {
                dispatcher_resume(prov_items[i].h, after_provider, NULL);
                prov_items[i].h = NULL;
            }
        pthread_mutex_unlock(&prov_mu);
        clock_sleep_ms(5, NULL);
    }
    return NULL;
}

static pthread_t provider_start(int64_t delay_ms, int64_t slow_ms)
{
    pthread_t t;

    prov_n = 0;
    prov_quit = 0;
    prov_delay_ms = delay_ms;
    prov_slow_ms = slow_ms;
    atomic_store(&resumed_twice, 0);
    ck_assert_int_eq(pthread_create(&t, NULL, provider_main, NULL), 0);
    return t;
}

static void schedule_named(const char *prefix, int n)
{
    struct queue_new jobs[300];
    char ids[300][16];
    size_t added;

    for (int i = 0; i < n; i++) {
        snprintf(ids[i], sizeof ids[i], "%s%d", prefix, i);
        jobs[i] = (struct queue_new){ids[i], "{}", 2, 0, 0};
    }
    ck_assert_int_eq(queue_schedule_many(q, jobs, (size_t)n, &added), 0);
}

/* Jobs held past their handler: none is run twice, though some wait on
 * the provider for longer than the lease (renewed meanwhile); a retry
 * asked by a continuation honours its Retry-After; all end acked; the
 * workers never waited (one worker kept 300 jobs in flight). */
START_TEST(test_dispatcher_held)
{
    char err[256];
    volatile int stop = 0;
    struct dispatcher *d;
    struct queue_stats st;
    pthread_t prov;

    queue_set_clock(q, NULL);
    cfg.queue.workers = 1;
    cfg.queue.batch = 100;
    cfg.queue.lease_ms = 600;
    cfg.queue.retry_base_ms = 1;
    cfg.queue.retry_cap_ms = 1;
    schedule_named("j", 250);
    schedule_named("s", 40); /* held 1.5 s: two and a half leases */
    schedule_named("r", 10);
    prov = provider_start(100, 1500);
    d = dispatcher_start(&cfg, hold_job, NULL, &stop, err, sizeof err);
    ck_assert_ptr_nonnull(d);
    /* one worker, 100 ms per answer: waiting, it would take 25 s */
    ck_assert_int_eq(wait_count(&handled, 250, 3000), 250);
    ck_assert_int_eq(wait_count(&handled, 300, 5000), 300);
    stop = 1;
    dispatcher_drain(d);
    ck_assert_int_eq(dispatcher_held(d), 0);
    dispatcher_join(d);
    prov_quit = 1;
    pthread_join(prov, NULL);
    ck_assert_int_eq(atomic_load(&resumed_twice), 10); /* the r jobs */
    ck_assert_int_eq(queue_stats(q, &st), 0);
    ck_assert_int_eq(st.pending + st.in_flight + st.dead, 0);
}
END_TEST

/* SIGTERM with jobs held: drain waits for the provider's answers, and
 * the continuations settle the jobs before the workers stop. */
START_TEST(test_dispatcher_drain)
{
    char err[256];
    volatile int stop = 0;
    struct dispatcher *d;
    struct queue_stats st;
    pthread_t prov;

    queue_set_clock(q, NULL);
    cfg.queue.workers = 2;
    cfg.queue.drain_ms = 5000;
    schedule_named("j", 100);
    prov = provider_start(500, 500);
    d = dispatcher_start(&cfg, hold_job, NULL, &stop, err, sizeof err);
    ck_assert_ptr_nonnull(d);
    clock_sleep_ms(200, NULL); /* all held, none answered */
    ck_assert_int_eq(atomic_load(&handled), 0);
    stop = 1;
    dispatcher_drain(d);
    dispatcher_join(d);
    prov_quit = 1;
    pthread_join(prov, NULL);
    ck_assert_int_eq(atomic_load(&handled), 100);
    ck_assert_int_eq(queue_stats(q, &st), 0);
    ck_assert_int_eq(st.pending + st.in_flight, 0);
}
END_TEST

static Suite *queue_suite(void)
{
    Suite *s = suite_create("queue");
    TCase *tc = tcase_create("redis");

    tcase_add_unchecked_fixture(tc, server_up, server_down);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_due_order);
    tcase_add_test(tc, test_not_due_yet);
    tcase_add_test(tc, test_idempotency);
    tcase_add_test(tc, test_invalid_id);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_lease_expiry);
    tcase_add_test(tc, test_extend);
    tcase_add_test(tc, test_release);
    tcase_add_test(tc, test_postpone);
    tcase_add_test(tc, test_lease_expiry_last_attempt);
    tcase_add_test(tc, test_backoff_schedule);
    tcase_add_test(tc, test_dead_and_retry);
    tcase_add_test(tc, test_missing_payload);
    tcase_add_test(tc, test_stats);
    tcase_add_test(tc, test_shards);
    tcase_add_test(tc, test_metrics);
    tcase_add_test(tc, test_dispatcher);
    tcase_add_test(tc, test_dispatcher_slow_batch);
    tcase_add_test(tc, test_dispatcher_stop_gives_back);
    tcase_add_test(tc, test_dispatcher_prefetch);
    tcase_add_test(tc, test_dispatcher_prefetch_dropped);
    tcase_add_test(tc, test_dispatcher_held);
    tcase_add_test(tc, test_dispatcher_drain);
    suite_add_tcase(s, tc);

    tc = tcase_create("pure");
    tcase_add_loop_test(tc, test_retry_delay, 0,
                        sizeof delay_cases / sizeof delay_cases[0]);
    tcase_add_loop_test(tc, test_keys, 0,
                        sizeof key_cases / sizeof key_cases[0]);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run(queue_suite());
}
