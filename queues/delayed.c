/*
 * delayed.c - the durable delayed queue (see delayed.h): argument
 * marshalling around the Lua scripts of queues/lua.c, reply parsing and
 * the queue's metrics.
 */
#include "queues/delayed.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backoff.h"
#include "core/config.h"
#include "core/keys.h"
#include "core/metrics.h"
#include "core/reply.h"
#include "queues/lua.h"

/* The keys every script gets, in the order of queues/lua.h. */
static const char *const key_parts[] = {"due",      "lease", "jobs",
                                        "attempts", "dead",  "errors"};
#define NKEYS ((int)(sizeof key_parts / sizeof key_parts[0]))

enum script_id {
    S_SCHEDULE,
    S_CLAIM,
    S_ACK,
    S_FAIL,
    S_EXTEND,
    S_RELEASE,
    S_CANCEL,
    S_STATS,
    S_DEAD_LIST,
    S_RETRY_DEAD,
    S_COUNT
};

static const char *const script_source[S_COUNT] = {
    [S_SCHEDULE] = QUEUE_LUA_SCHEDULE,
    [S_CLAIM] = QUEUE_LUA_CLAIM,
    [S_ACK] = QUEUE_LUA_ACK,
    [S_FAIL] = QUEUE_LUA_FAIL,
    [S_EXTEND] = QUEUE_LUA_EXTEND,
    [S_RELEASE] = QUEUE_LUA_RELEASE,
    [S_CANCEL] = QUEUE_LUA_CANCEL,
    [S_STATS] = QUEUE_LUA_STATS,
    [S_DEAD_LIST] = QUEUE_LUA_DEAD_LIST,
    [S_RETRY_DEAD] = QUEUE_LUA_RETRY_DEAD,
};

struct queue {
    struct rconn *rc; /* not owned */
    char *prefix;
    int shards;
    int64_t lease_ms, retry_base_ms, retry_cap_ms;
    int max_attempts;
    clock_fn now;           /* NULL: Redis's TIME */
    double (*random)(void); /* NULL: backoff_random() */
    /* Per handle, so that threads never share the cached SHA1s. */
    struct rscript scripts[S_COUNT];
    char channel[KEY_MAX];
    char errstr[256];
};

/* --- metrics ------------------------------------------------------------ */

static struct {
    struct metric *scheduled, *claimed, *acked, *retried, *dead, *expired;
    struct metric *lag;
} qm;

static void metrics_register(void)
{
    static const double lag_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,  0.1,    0.25,  0.5,  1,
                                         2.5,   5,      10,    30,   60};

    qm.scheduled = metric_counter("nudge_queue_scheduled_total",
                                  "Jobs added to the delayed queue", NULL);
    qm.claimed = metric_counter("nudge_queue_claimed_total",
                                "Jobs claimed with a lease", NULL);
    qm.acked = metric_counter("nudge_queue_acked_total",
                              "Jobs handled and acknowledged", NULL);
    qm.retried =
        metric_counter("nudge_queue_retried_total",
                       "Failed jobs scheduled again with backoff", NULL);
    qm.dead = metric_counter("nudge_queue_dead_total",
                             "Jobs moved to the dead letters", NULL);
    qm.expired =
        metric_counter("nudge_queue_lease_expired_total",
                       "Leases that ran out (a daemon died or hung)", NULL);
    qm.lag = metric_histogram(
        "nudge_queue_firing_lag_seconds",
        "Time from a job's due time to its claim (Redis's clock)", NULL,
        lag_buckets, sizeof lag_buckets / sizeof lag_buckets[0]);
}

void queue_metrics_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, metrics_register);
}

/* --- names -------------------------------------------------------------- */

int queue_shard_of(const char *id, int nshards)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return nshards > 1 ? (int)(h % (uint32_t)nshards) : 0;
}

static int fits(int len, size_t n)
{
    return len >= 0 && (size_t)len < n ? len : -1;
}

int queue_key(char *buf, size_t n, const char *prefix, int shard,
              const char *part)
{
    return fits(snprintf(buf, n, "%sq:{%d}:%s", prefix, shard, part), n);
}

int queue_wake_channel(char *buf, size_t n, const char *prefix)
{
    return key_global(buf, n, prefix, "q:wake");
}

static int valid_id(const char *id)
{
    size_t len = id ? strlen(id) : 0;

    if (len == 0 || len > QUEUE_ID_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        if (*p < ' ' || *p == 0x7f)
            return 0;
    return 1;
}

/* --- the handle --------------------------------------------------------- */

struct queue *queue_open(const struct config *cfg, struct rconn *rc)
{
    struct queue *q = calloc(1, sizeof *q);

    if (!q)
        return NULL;
    q->rc = rc;
    /* a test clock ([daemon] test_clock) is the queue's clock too */
    q->now = clock_from_file() ? clock_now_ms : NULL;
    q->prefix = strdup(cfg->redis.prefix);
    if (!q->prefix) {
        free(q);
        return NULL;
    }
    q->shards = cfg->queue.shards > 0 ? cfg->queue.shards : 1;
    q->lease_ms = cfg->queue.lease_ms;
    q->retry_base_ms = cfg->queue.retry_base_ms;
    q->retry_cap_ms = cfg->queue.retry_cap_ms;
    q->max_attempts = cfg->queue.max_attempts;
    for (int i = 0; i < S_COUNT; i++)
        q->scripts[i].source = script_source[i];
    if (queue_wake_channel(q->channel, sizeof q->channel, q->prefix) < 0) {
        queue_close(q);
        return NULL;
    }
    queue_metrics_init();
    return q;
}

void queue_close(struct queue *q)
{
    if (!q)
        return;
    free(q->prefix);
    free(q);
}

const char *queue_error(const struct queue *q)
{
    return q->errstr;
}

struct rconn *queue_conn(struct queue *q)
{
    return q->rc;
}

int queue_shards(const struct queue *q)
{
    return q->shards;
}

void queue_set_clock(struct queue *q, clock_fn now)
{
    q->now = now;
}

void queue_set_random(struct queue *q, double (*random)(void))
{
    q->random = random;
}

static int set_error(struct queue *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int set_error(struct queue *q, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(q->errstr, sizeof q->errstr, fmt, ap);
    va_end(ap);
    return -1;
}

/* --- running a script --------------------------------------------------- */

/* Script s on one shard with the extra ARGV (after "now"); NULL on error
 * (connection or script), with q->errstr set. The caller frees. */
static redisReply *run(struct queue *q, enum script_id s, int shard, int argc,
                       const char **argv, const size_t *argvlen)
{
    int total = NKEYS + 1 + argc;
    const char **av = malloc(sizeof *av * (size_t)total);
    size_t *al = malloc(sizeof *al * (size_t)total);
    char keys[NKEYS][KEY_MAX], now[24] = "";
    redisReply *r = NULL;

    if (!av || !al) {
        set_error(q, "out of memory");
        goto done;
    }
    for (int i = 0; i < NKEYS; i++) {
        if (queue_key(keys[i], KEY_MAX, q->prefix, shard, key_parts[i]) < 0) {
            set_error(q, "queue key too long (prefix %s)", q->prefix);
            goto done;
        }
        av[i] = keys[i];
        al[i] = strlen(keys[i]);
    }
    if (q->now)
        snprintf(now, sizeof now, "%lld", (long long)q->now());
    av[NKEYS] = now;
    al[NKEYS] = strlen(now);
    for (int i = 0; i < argc; i++) {
        av[NKEYS + 1 + i] = argv[i];
        al[NKEYS + 1 + i] = argvlen ? argvlen[i] : strlen(argv[i]);
    }
    r = rconn_script(q->rc, &q->scripts[s], NKEYS, total, av, al);
    if (!r) {
        set_error(q, "%s", q->rc->errstr);
    } else if (r->type == REDIS_REPLY_ERROR) {
        set_error(q, "queue script failed: %s", r->str);
        reply_free(r);
        r = NULL;
    }
done:
    free(av);
    free(al);
    return r;
}

/* A script whose reply is one integer: returns it, or -1. */
static long long run_int(struct queue *q, enum script_id s, int shard, int argc,
                         const char **argv, const size_t *argvlen)
{
    redisReply *r = run(q, s, shard, argc, argv, argvlen);
    long long v;

    if (!r)
        return -1;
    if (r->type != REDIS_REPLY_INTEGER) {
        set_error(q, "queue script: unexpected reply type %d", r->type);
        reply_free(r);
        return -1;
    }
    v = r->integer;
    reply_free(r);
    return v;
}

static long long reply_int(const redisReply *r)
{
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r->type == REDIS_REPLY_STRING)
        return strtoll(r->str, NULL, 10);
    return 0;
}

/* A copy of a string reply plus a NUL; NULL for nil or no memory. */
static char *reply_dup(const redisReply *r, size_t *len)
{
    char *s;

    if (r->type != REDIS_REPLY_STRING)
        return NULL;
    s = malloc(r->len + 1);
    if (!s)
        return NULL;
    memcpy(s, r->str, r->len);
    s[r->len] = '\0';
    if (len)
        *len = r->len;
    return s;
}

/* --- producing ---------------------------------------------------------- */

#define SCHEDULE_CHUNK 1000 /* jobs per script call */

/* One script call for up to SCHEDULE_CHUNK jobs of one shard. */
static int schedule_chunk(struct queue *q, int shard,
                          const struct queue_new *const *jobs, size_t n,
                          size_t *added)
{
    const char **av = malloc(sizeof *av * (1 + 4 * n));
    size_t *al = malloc(sizeof *al * (1 + 4 * n));
    char(*when)[24] = malloc(sizeof *when * n);
    long long got = -1;

    if (!av || !al || !when) {
        set_error(q, "out of memory");
        goto done;
    }
    av[0] = q->channel;
    al[0] = strlen(q->channel);
    for (size_t i = 0; i < n; i++) {
        const struct queue_new *j = jobs[i];
        size_t k = 1 + 4 * i;
        snprintf(when[i], sizeof when[i], "%lld", (long long)j->when_ms);
        av[k] = j->id;
        al[k] = strlen(j->id);
        av[k + 1] = j->payload ? j->payload : "";
        al[k + 1] = j->payload ? j->len : 0;
        av[k + 2] = j->at ? "at" : "in";
        al[k + 2] = 2;
        av[k + 3] = when[i];
        al[k + 3] = strlen(when[i]);
    }
    got = run_int(q, S_SCHEDULE, shard, (int)(1 + 4 * n), av, al);
    if (got > 0) {
        *added += (size_t)got;
        metric_add(qm.scheduled, (uint64_t)got);
    }
done:
    free(av);
    free(al);
    free(when);
    return got < 0 ? -1 : 0;
}

/* The jobs of one shard, SCHEDULE_CHUNK at a time. */
static int schedule_shard(struct queue *q, int shard,
                          const struct queue_new *jobs, const int *shard_of,
                          size_t n, size_t *added)
{
    const struct queue_new *chunk[SCHEDULE_CHUNK];
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (shard_of[i] != shard)
            continue;
        chunk[k++] = &jobs[i];
        if (k == SCHEDULE_CHUNK) {
            if (schedule_chunk(q, shard, chunk, k, added) < 0)
                return -1;
            k = 0;
        }
    }
    return k ? schedule_chunk(q, shard, chunk, k, added) : 0;
}

int queue_schedule_many(struct queue *q, const struct queue_new *jobs, size_t n,
                        size_t *added)
{
    int *shard_of = malloc(sizeof *shard_of * (n ? n : 1));
    char *used = calloc((size_t)q->shards, 1);
    int ret = -1;

    *added = 0;
    if (!shard_of || !used) {
        set_error(q, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (!valid_id(jobs[i].id)) {
            set_error(q,
                      "invalid job id \"%.64s\": 1 to %d bytes, no "
                      "control characters",
                      jobs[i].id ? jobs[i].id : "", QUEUE_ID_MAX);
            goto done;
        }
        shard_of[i] = queue_shard_of(jobs[i].id, q->shards);
        used[shard_of[i]] = 1;
    }
    for (int s = 0; s < q->shards; s++)
        if (used[s] && schedule_shard(q, s, jobs, shard_of, n, added) < 0)
            goto done;
    ret = 0;
done:
    free(shard_of);
    free(used);
    return ret;
}

static int schedule_one(struct queue *q, const char *id, const void *payload,
                        size_t len, int64_t when_ms, int at)
{
    struct queue_new j = {id, payload, len, when_ms, at};
    size_t added;

    if (queue_schedule_many(q, &j, 1, &added) < 0)
        return -1;
    return added == 1;
}

int queue_schedule(struct queue *q, const char *id, const void *payload,
                   size_t len, int64_t delay_ms)
{
    return schedule_one(q, id, payload, len, delay_ms, 0);
}

int queue_schedule_at(struct queue *q, const char *id, const void *payload,
                      size_t len, int64_t at_ms)
{
    return schedule_one(q, id, payload, len, at_ms, 1);
}

int queue_cancel(struct queue *q, const char *id)
{
    if (!valid_id(id))
        return set_error(q, "invalid job id");
    return (int)run_int(q, S_CANCEL, queue_shard_of(id, q->shards), 1, &id,
                        NULL);
}

/* --- consuming ---------------------------------------------------------- */

void queue_batch_free(struct queue_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->jobs[i].id);
        free(b->jobs[i].payload);
    }
    free(b->jobs);
    memset(b, 0, sizeof *b);
}

/* {now, expired, dead, next_in_ms, (id, payload, attempt, due)...} */
static int parse_claim(struct queue *q, const redisReply *r, int shard,
                       struct queue_batch *b)
{
    size_t n;

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 4 ||
        (r->elements - 4) % 4 != 0)
        return set_error(q, "claim: unexpected reply");
    n = (r->elements - 4) / 4;
    b->expired = (int)reply_int(r->element[1]);
    b->expired_dead = (int)reply_int(r->element[2]);
    b->next_in_ms = reply_int(r->element[3]);
    if (n == 0)
        return 0;
    b->jobs = calloc(n, sizeof *b->jobs);
    if (!b->jobs)
        return set_error(q, "out of memory");
    for (size_t i = 0; i < n; i++) {
        redisReply **e = &r->element[4 + 4 * i];
        struct queue_job *j = &b->jobs[i];
        j->id = reply_dup(e[0], NULL);
        j->payload = reply_dup(e[1], &j->len);
        j->attempt = (int)reply_int(e[2]);
        j->due_ms = reply_int(e[3]);
        j->claimed_ms = reply_int(r->element[0]);
        j->shard = shard;
        b->n = i + 1;
        if (!j->id)
            return set_error(q, "out of memory");
    }
    return 0;
}

static void count_claim(const struct queue_batch *b)
{
    metric_add(qm.claimed, b->n);
    metric_add(qm.expired, (uint64_t)b->expired);
    metric_add(qm.dead, (uint64_t)b->expired_dead);
    for (size_t i = 0; i < b->n; i++) {
        int64_t lag = b->jobs[i].claimed_ms - b->jobs[i].due_ms;
        metric_observe(qm.lag, lag > 0 ? (double)lag / 1000.0 : 0.0);
    }
}

int queue_claim(struct queue *q, int shard, int max, struct queue_batch *b)
{
    char smax[16], lease[24], maxa[16];
    const char *av[] = {smax, lease, maxa};
    redisReply *r;
    int ret;

    memset(b, 0, sizeof *b);
    b->next_in_ms = -1;
    if (shard < 0 || shard >= q->shards)
        return set_error(q, "no shard %d", shard);
    if (max < 1)
        max = 1;
    snprintf(smax, sizeof smax, "%d",
             max < QUEUE_BATCH_MAX ? max : QUEUE_BATCH_MAX);
    snprintf(lease, sizeof lease, "%lld", (long long)q->lease_ms);
    snprintf(maxa, sizeof maxa, "%d", q->max_attempts);
    r = run(q, S_CLAIM, shard, 3, av, NULL);
    if (!r)
        return -1;
    ret = parse_claim(q, r, shard, b);
    reply_free(r);
    if (ret < 0)
        return -1;
    count_claim(b);
    return (int)b->n;
}

/* Jobs acked per script call: the script unpack()s their ids, and Lua's
 * stack takes a few thousand values at most. */
#define ACK_CHUNK QUEUE_BATCH_MAX

/* One script call for up to ACK_CHUNK jobs of one shard. */
static long long ack_chunk(struct queue *q, int shard,
                           const struct queue_job *const *jobs, size_t n)
{
    const char **av = malloc(sizeof *av * 2 * n);
    char(*att)[16] = malloc(sizeof *att * n);
    long long got = -1;

    if (!av || !att) {
        set_error(q, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(att[i], sizeof att[i], "%d", jobs[i]->attempt);
        av[2 * i] = jobs[i]->id;
        av[2 * i + 1] = att[i];
    }
    got = run_int(q, S_ACK, shard, (int)(2 * n), av, NULL);
    if (got > 0)
        metric_add(qm.acked, (uint64_t)got);
done:
    free(av);
    free(att);
    return got;
}

/* The acks of one shard, ACK_CHUNK at a time; none: no round trip. */
static long long ack_shard(struct queue *q, int shard,
                           const struct queue_job *const *jobs, size_t n)
{
    const struct queue_job *chunk[ACK_CHUNK];
    long long total = 0, got;
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (jobs[i]->shard == shard)
            chunk[k++] = jobs[i];
        if (k > 0 && (k == ACK_CHUNK || i == n - 1)) {
            got = ack_chunk(q, shard, chunk, k);
            if (got < 0)
                return -1;
            total += got;
            k = 0;
        }
    }
    return total;
}

int queue_ack(struct queue *q, const struct queue_job *const *jobs, size_t n)
{
    long long total = 0;

    for (int s = 0; s < q->shards; s++) {
        long long got = ack_shard(q, s, jobs, n);
        if (got < 0)
            return -1;
        total += got;
    }
    return (int)total;
}

int64_t queue_retry_delay(int64_t base_ms, int64_t cap_ms, int attempt,
                          double r)
{
    return backoff_full_jitter(base_ms, cap_ms, attempt - 1, r);
}

int queue_fail(struct queue *q, const struct queue_job *job,
               enum queue_failure kind, const char *reason)
{
    char att[16], delay[24], maxa[16];
    double r = q->random ? q->random() : backoff_random();
    int64_t wait = queue_retry_delay(q->retry_base_ms, q->retry_cap_ms,
                                     job->attempt, r);
    const char *av[] = {job->id,
                        att,
                        kind == QUEUE_FAIL_TRANSIENT ? "retry" : "dead",
                        delay,
                        reason ? reason : "",
                        maxa};
    long long got;

    snprintf(att, sizeof att, "%d", job->attempt);
    if (job->retry_after_ms > wait)
        wait = job->retry_after_ms;
    snprintf(delay, sizeof delay, "%lld", (long long)wait);
    snprintf(maxa, sizeof maxa, "%d", q->max_attempts);
    got = run_int(q, S_FAIL, job->shard, 6, av, NULL);
    if (got == 1)
        metric_inc(qm.retried);
    else if (got == 2)
        metric_inc(qm.dead);
    return (int)got;
}

int queue_extend(struct queue *q, const struct queue_job *job, int64_t lease_ms)
{
    char att[16], ms[24];
    const char *av[] = {job->id, att, ms};

    snprintf(att, sizeof att, "%d", job->attempt);
    snprintf(ms, sizeof ms, "%lld", (long long)lease_ms);
    return (int)run_int(q, S_EXTEND, job->shard, 3, av, NULL);
}

int queue_postpone(struct queue *q, const struct queue_job *job,
                   int64_t delay_ms)
{
    char att[16], delay[24];
    const char *av[] = {job->id, att, q->channel, delay};

    snprintf(att, sizeof att, "%d", job->attempt);
    snprintf(delay, sizeof delay, "%lld",
             (long long)(delay_ms > 0 ? delay_ms : 0));
    return (int)run_int(q, S_RELEASE, job->shard, 4, av, NULL);
}

int queue_release(struct queue *q, const struct queue_job *job)
{
    return queue_postpone(q, job, 0);
}

/* --- operating ---------------------------------------------------------- */

static void add_stats(struct queue_stats *st, const redisReply *r)
{
    int64_t now = reply_int(r->element[0]);
    int64_t oldest = reply_int(r->element[5]);

    st->now_ms = now;
    st->pending += reply_int(r->element[1]);
    st->due += reply_int(r->element[2]);
    st->in_flight += reply_int(r->element[3]);
    st->dead += reply_int(r->element[4]);
    if (oldest >= 0 && oldest <= now && now - oldest > st->oldest_lag_ms)
        st->oldest_lag_ms = now - oldest;
}

int queue_stats(struct queue *q, struct queue_stats *st)
{
    memset(st, 0, sizeof *st);
    for (int s = 0; s < q->shards; s++) {
        redisReply *r = run(q, S_STATS, s, 0, NULL, NULL);
        if (!r)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 6) {
            reply_free(r);
            return set_error(q, "stats: unexpected reply");
        }
        add_stats(st, r);
        reply_free(r);
    }
    st->scheduled = st->pending - st->due;
    return 0;
}

void queue_dead_free(struct queue_dead *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(d[i].id);
        free(d[i].error);
        free(d[i].payload);
    }
    free(d);
}

/* Appends the (id, died, attempts, error, payload) groups of r. */
static int parse_dead(struct queue *q, const redisReply *r,
                      struct queue_dead **out, size_t *n)
{
    size_t add, i;
    struct queue_dead *d;

    if (r->type != REDIS_REPLY_ARRAY || r->elements % 5 != 0)
        return set_error(q, "dead list: unexpected reply");
    add = r->elements / 5;
    if (add == 0)
        return 0;
    d = realloc(*out, sizeof *d * (*n + add));
    if (!d)
        return set_error(q, "out of memory");
    *out = d;
    for (i = 0; i < add; i++) {
        redisReply **e = &r->element[5 * i];
        struct queue_dead *x = &d[*n];
        memset(x, 0, sizeof *x);
        x->id = reply_dup(e[0], NULL);
        x->died_ms = reply_int(e[1]);
        x->attempts = (int)reply_int(e[2]);
        x->error = reply_dup(e[3], NULL);
        x->payload = reply_dup(e[4], &x->len);
        (*n)++;
        if (!x->id || !x->error || !x->payload)
            return set_error(q, "out of memory");
    }
    return 0;
}

int queue_dead_list(struct queue *q, size_t max, struct queue_dead **out,
                    size_t *n)
{
    char smax[24];
    const char *av[] = {smax};

    *out = NULL;
    *n = 0;
    snprintf(smax, sizeof smax, "%zu", max);
    for (int s = 0; s < q->shards; s++) {
        redisReply *r = run(q, S_DEAD_LIST, s, 1, av, NULL);
        int ret;
        if (!r)
            return -1;
        ret = parse_dead(q, r, out, n);
        reply_free(r);
        if (ret < 0)
            return -1;
    }
    return 0;
}

int queue_retry_dead(struct queue *q, const char *id)
{
    const char *av[] = {id, q->channel};
    int home;

    if (!valid_id(id))
        return set_error(q, "invalid job id");
    /* Its own shard first; then the others, in case the shard count
     * changed since it died. */
    home = queue_shard_of(id, q->shards);
    for (int i = 0; i < q->shards; i++) {
        long long got =
            run_int(q, S_RETRY_DEAD, (home + i) % q->shards, 2, av, NULL);
        if (got != 0)
            return (int)got;
    }
    return 0;
}
