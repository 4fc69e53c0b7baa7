/*
 * queue_bench.c - the delayed queue's benchmark driver, run by
 * bench/bench_queue.sh against a throwaway redis-server:
 *
 *   queue_bench -c FILE schedule N [DELAY_MS]   N jobs, 1,000 per call
 *   queue_bench -c FILE drain N                 the dispatcher, no-op handler
 *   queue_bench -c FILE lag RATE SECONDS        a steady RATE jobs/s, each due
 *                                               1 s after it is scheduled
 *
 * Each prints one line of "key=value" figures for the script to parse.
 * The dispatcher runs with the config's [queue] workers and batch.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "queues/delayed.h"
#include "queues/dispatcher.h"

#define CHUNK 1000

static volatile int stop;
static atomic_long handled;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0;
}

/* VmHWM and VmRSS of this process, in KiB. */
static void memory_kib(long *hwm, long *rss)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];

    *hwm = *rss = -1;
    if (!fp)
        return;
    while (fgets(line, sizeof line, fp)) {
        sscanf(line, "VmHWM: %ld", hwm);
        sscanf(line, "VmRSS: %ld", rss);
    }
    fclose(fp);
}

/* N jobs "bench:I" with a payload like the rule engine's, due at the
 * same moment (at) or delay_ms after each call (at = 0). */
static int schedule_range(struct queue *q, long from, long n, int64_t when,
                          int at)
{
    static __thread struct queue_new jobs[CHUNK];
    static __thread char ids[CHUNK][32], bodies[CHUNK][96];
    size_t added;

    for (long i = 0; i < n; i++) {
        snprintf(ids[i], sizeof ids[i], "bench:%ld", from + i);
        snprintf(bodies[i], sizeof bodies[i],
                 "{\"student\":\"%ld\",\"rule\":\"trial_class_invite\","
                 "\"step\":2}",
                 100000 + from + i);
        jobs[i] =
            (struct queue_new){ids[i], bodies[i], strlen(bodies[i]), when, at};
    }
    if (queue_schedule_many(q, jobs, (size_t)n, &added) < 0) {
        fprintf(stderr, "queue_bench: %s\n", queue_error(q));
        return -1;
    }
    return 0;
}

static int run_schedule(struct queue *q, long n, int64_t delay)
{
    double t = now_s();

    for (long from = 0; from < n; from += CHUNK)
        if (schedule_range(q, from, n - from < CHUNK ? n - from : CHUNK, delay,
                           0) < 0)
            return 1;
    t = now_s() - t;
    printf("scheduled=%ld seconds=%.3f rate=%.0f\n", n, t, (double)n / t);
    return 0;
}

static enum job_result count_job(const struct queue_job *job, struct rconn *rc,
                                 void *ctx, char *err, size_t errlen)
{
    atomic_fetch_add(&handled, 1);
    return JOB_OK;
}

static int run_drain(const struct config *cfg, long n)
{
    char err[256];
    struct dispatcher *d;
    double t = now_s();
    long hwm, rss;

    d = dispatcher_start(cfg, count_job, NULL, &stop, err, sizeof err);
    if (!d) {
        fprintf(stderr, "queue_bench: %s\n", err);
        return 1;
    }
    while (atomic_load(&handled) < n)
        clock_sleep_ms(2, NULL);
    t = now_s() - t;
    memory_kib(&hwm, &rss);
    stop = 1;
    dispatcher_join(d);
    printf("drained=%ld seconds=%.3f rate=%.0f rss_kib=%ld hwm_kib=%ld\n", n, t,
           (double)n / t, rss, hwm);
    return 0;
}

/* --- firing lag at a steady rate ------------------------------------- */

static double *lags;
static long lag_cap;

static enum job_result time_job(const struct queue_job *job, struct rconn *rc,
                                void *ctx, char *err, size_t errlen)
{
    long i = atomic_fetch_add(&handled, 1);

    if (i < lag_cap)
        lags[i] = wall_ms() - (double)job->due_ms;
    return JOB_OK;
}

struct producer {
    const struct config *cfg;
    long rate, seconds;
    int failed;
};

/* Every 10 ms, the jobs of the next 10 ms, each due 1 s later at its own
 * millisecond fraction of the tick. */
static void *produce(void *arg)
{
    struct producer *p = arg;
    struct rconn *rc = rconn_new(p->cfg, &stop);
    struct queue *q = rc ? queue_open(p->cfg, rc) : NULL;
    long per_tick = p->rate / 100, ticks = p->seconds * 100;
    double start = wall_ms();
    struct timespec next;

    if (!q || rconn_ensure(rc) < 0) {
        p->failed = 1;
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (long k = 0; k < ticks && !stop; k++) {
        static __thread struct queue_new jobs[CHUNK];
        static __thread char ids[CHUNK][32];
        size_t added;
        for (long i = 0; i < per_tick; i++) {
            snprintf(ids[i], sizeof ids[i], "lag:%ld", k * per_tick + i);
            jobs[i] = (struct queue_new){
                ids[i], "{\"student\":\"1\"}", 15,
                (int64_t)(start + 1000.0 + k * 10.0 + 10.0 * i / per_tick), 1};
        }
        if (queue_schedule_many(q, jobs, (size_t)per_tick, &added) < 0) {
            p->failed = 1;
            break;
        }
        next.tv_nsec += 10000000L;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000L;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
done:
    queue_close(q);
    rconn_free(rc);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int run_lag(const struct config *cfg, long rate, long seconds)
{
    struct producer p = {cfg, rate, seconds, 0};
    long want = rate / 100 * 100 * seconds, n;
    struct dispatcher *d;
    pthread_t tid;
    char err[256];
    double deadline;

    lag_cap = want;
    lags = calloc((size_t)want, sizeof *lags);
    d = lags ? dispatcher_start(cfg, time_job, NULL, &stop, err, sizeof err)
             : NULL;
    if (!d || pthread_create(&tid, NULL, produce, &p) != 0) {
        fprintf(stderr, "queue_bench: cannot start\n");
        return 1;
    }
    pthread_join(tid, NULL);
    deadline = now_s() + 5.0;
    while (atomic_load(&handled) < want && now_s() < deadline)
        clock_sleep_ms(10, NULL);
    stop = 1;
    dispatcher_join(d);
    n = atomic_load(&handled) < want ? atomic_load(&handled) : want;
    if (p.failed || n == 0) {
        fprintf(stderr, "queue_bench: lag run failed\n");
        return 1;
    }
    qsort(lags, (size_t)n, sizeof *lags, cmp_double);
    printf("jobs=%ld of=%ld p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", n, want,
           lags[n / 2], lags[(long)(n * 0.99)], lags[n - 1]);
    free(lags);
    return 0;
}

int main(int argc, char **argv)
{
    struct config cfg;
    struct diag d = {0};
    struct rconn *rc;
    struct queue *q;
    int status = 2;

    if (argc < 5 || strcmp(argv[1], "-c") != 0) {
        fprintf(stderr, "usage: queue_bench -c FILE schedule N [DELAY_MS] | "
                        "drain N | lag RATE SECONDS\n");
        return 2;
    }
    log_init("queue_bench", 1, LOG_LVL_WARN);
    if (config_load(argv[2], &cfg, &d) < 0) {
        diag_print(&d, stderr);
        return 2;
    }
    rc = rconn_new(&cfg, &stop);
    q = rc ? queue_open(&cfg, rc) : NULL;
    if (q && rconn_ensure(rc) == 0) {
        if (strcmp(argv[3], "schedule") == 0)
            status =
                run_schedule(q, atol(argv[4]), argc > 5 ? atoll(argv[5]) : 0);
        else if (strcmp(argv[3], "drain") == 0)
            status = run_drain(&cfg, atol(argv[4]));
        else if (strcmp(argv[3], "lag") == 0 && argc > 5)
            status = run_lag(&cfg, atol(argv[4]), atol(argv[5]));
    }
    queue_close(q);
    rconn_free(rc);
    config_free(&cfg);
    diag_clear(&d);
    return status;
}
