/*
 * forecast_read.c - a forecast from what is in Redis (see
 * forecast_read.h): the rules loaded and checked, the pauses, the step
 * jobs of the queue, every student walked through rules/forecast.h, and
 * the trigger events' rate for the event rules.
 */
#include "rules/forecast_read.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/keys.h"
#include "core/reply.h"
#include "rules/scanload.h"

#define FC_CHUNK 500 /* students read and walked at a time */
#define FC_PAGE 1000 /* queue ids and events read at a time */
#define DAY_MS (86400LL * 1000)

/* --- loading -------------------------------------------------------------- */

int forecast_read_wanted(const struct forecast_read *c, size_t rule)
{
    return c->only < 0 || (size_t)c->only == rule;
}

/* A bad price_per_segment would price the forecast at 0: say so, as
 * nudged says it at start. 0, or -1 with the errors in d. */
static int check_prices(const struct forecast_read *c, struct diag *d)
{
    double price;
    int before = d->errors;

    for (size_t i = 0; i < c->env.nchans; i++) {
        struct conf_section *sec = config_channel(c->cfg, c->env.chans[i].name);
        if (sec)
            channel_read_price(sec, &price, d);
    }
    return d->errors > before ? -1 : 0;
}

enum forecast_read_status forecast_read_load(struct forecast_read *c,
                                             struct diag *d, char *err,
                                             size_t errlen)
{
    c->only = -1;
    if (rules_env_from_config(&c->env, c->cfg) < 0) {
        snprintf(err, errlen, "out of memory");
        return FORECAST_READ_CONFIG;
    }
    ruleset_load_dir(c->dir ? c->dir : c->cfg->rules.dir, &c->env, &c->set, d);
    if (c->set)
        c->tmpls = tmpl_set_load(c->cfg->templates.dir, c->cfg, d);
    if (!c->set || !c->tmpls) {
        snprintf(err, errlen, "fix these first (%d error%s)", d->errors,
                 d->errors == 1 ? "" : "s");
        return FORECAST_READ_RULES;
    }
    if (c->rule) {
        const struct crule *r = ruleset_find(c->set, c->rule);
        if (!r) {
            snprintf(err, errlen, "no rule named \"%s\"", c->rule);
            return FORECAST_READ_CONFIG;
        }
        c->only = (int)(r - c->set->rules);
    }
    if (check_prices(c, d) < 0) {
        snprintf(err, errlen, "a channel's price_per_segment is wrong");
        return FORECAST_READ_CONFIG;
    }
    return FORECAST_READ_OK;
}

/* Tells the caller how far the walk is; non-zero: stop. */
static int tell(struct forecast_read *c, size_t done)
{
    return c->progress.fn ? c->progress.fn(c->progress.ctx, done, c->ids.n) : 0;
}

/* --- pauses --------------------------------------------------------------- */

static int read_pauses(struct forecast_read *c, struct rconn *rc)
{
    char key[KEY_MAX];
    redisReply *rep;
    int status = 0;

    key_global(key, sizeof key, c->cfg->redis.prefix, "pause");
    if (!(rep = rconn_cmd(rc, "HGETALL %s", key)))
        return -1;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements;
         i += 2)
        if (rep->element[i]->type == REDIS_REPLY_STRING &&
            forecast_pause(&c->fc, rep->element[i]->str) < 0)
            status = -1;
    reply_free(rep);
    return status;
}

/* --- the queue: step jobs ------------------------------------------------- */

/* A step job's payload (rules/run.c run_job_payload()): kept when its
 * rule is in the set at the same version; other jobs (scan batches,
 * alerts, digests) are not runs. */
static int add_job(struct forecast_read *c, const char *payload, size_t len,
                   int64_t due_ms)
{
    json_t *o = json_loadb(payload, len, 0, NULL);
    const char *rule, *student, *version;
    json_int_t step, started;
    const struct crule *r;
    char want[24];
    int status = 0;

    if (!o || json_unpack(o, "{s:s, s:s, s:I, s:s, s:I}", "rule", &rule,
                          "student", &student, "step", &step, "version",
                          &version, "started", &started) < 0)
        goto done;
    c->jobs_seen++;
    if (!(r = ruleset_find(c->set, rule)) || step < 0 ||
        (size_t)step >= r->nsteps) {
        c->jobs_stale++;
        goto done;
    }
    snprintf(want, sizeof want, "%016llx", (unsigned long long)r->version);
    if (strcmp(version, want) != 0) { /* the daemon abandons it */
        c->jobs_stale++;
        goto done;
    }
    if (c->njobs == c->capjobs) {
        size_t cap = c->capjobs ? c->capjobs * 2 : 1024;
        struct fc_job *v = realloc(c->jobs, cap * sizeof *v);
        if (!v) {
            status = -1;
            goto done;
        }
        c->jobs = v;
        c->capjobs = cap;
    }
    if (!(c->jobs[c->njobs].student = strdup(student))) {
        status = -1;
        goto done;
    }
    c->jobs[c->njobs].rule = (size_t)(r - c->set->rules);
    c->jobs[c->njobs].step = (size_t)step;
    c->jobs[c->njobs].due_ms = due_ms;
    c->jobs[c->njobs].started_ms = started;
    c->njobs++;
done:
    json_decref(o);
    return status;
}

/* One page of a shard's due set: ids with their due times, then their
 * payloads in one HMGET. Returns how many ids the page had, or -1. */
static long read_queue_page(struct forecast_read *c, struct rconn *rc,
                            int shard, long from)
{
    const char *prefix = c->cfg->redis.prefix;
    char due[KEY_MAX], jobs[KEY_MAX];
    redisReply *ids, *pay = NULL;
    const char **argv;
    long n;

    snprintf(due, sizeof due, "%sq:{%d}:due", prefix, shard);
    snprintf(jobs, sizeof jobs, "%sq:{%d}:jobs", prefix, shard);
    if (!(ids = rconn_cmd(rc, "ZRANGE %s %ld %ld WITHSCORES", due, from,
                          from + FC_PAGE - 1)))
        return -1;
    n = ids->type == REDIS_REPLY_ARRAY ? (long)ids->elements / 2 : 0;
    if (n && (argv = calloc((size_t)n + 2, sizeof *argv))) {
        argv[0] = "HMGET";
        argv[1] = jobs;
        for (long i = 0; i < n; i++)
            argv[i + 2] = ids->element[2 * i]->str;
        pay = rconn_cmdargv(rc, (int)n + 2, argv, NULL);
        free(argv);
    }
    if (n &&
        (!pay || pay->type != REDIS_REPLY_ARRAY || pay->elements != (size_t)n))
        n = -1;
    for (long i = 0; n > 0 && i < n; i++)
        if (pay->element[i]->type == REDIS_REPLY_STRING &&
            add_job(c, pay->element[i]->str, pay->element[i]->len,
                    strtoll(ids->element[2 * i + 1]->str, NULL, 10)) < 0)
            n = -1;
    if (pay)
        reply_free(pay);
    reply_free(ids);
    return n;
}

static int by_student(const void *a, const void *b)
{
    return strcmp(((const struct fc_job *)a)->student,
                  ((const struct fc_job *)b)->student);
}

static int read_queue(struct forecast_read *c, struct rconn *rc)
{
    long got;

    for (int s = 0; s < c->cfg->queue.shards; s++)
        for (long from = 0;; from += FC_PAGE) {
            if ((got = read_queue_page(c, rc, s, from)) < 0)
                return -1;
            if (got < FC_PAGE)
                break;
        }
    if (c->njobs)
        qsort(c->jobs, c->njobs, sizeof *c->jobs, by_student);
    return 0;
}

/* The jobs of student id: *n of them from the returned one. */
static const struct fc_job *jobs_of(const struct forecast_read *c,
                                    const char *id, size_t *n)
{
    size_t lo = 0, hi = c->njobs, at;

    *n = 0;
    if (!c->njobs)
        return NULL;
    while (lo < hi) { /* the first job whose student is >= id */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(c->jobs[mid].student, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (at = lo; at < c->njobs && strcmp(c->jobs[at].student, id) == 0; at++)
        ;
    *n = at - lo;
    return c->jobs + lo;
}

/* --- the students --------------------------------------------------------- */

static int walk_student(void *ctx, struct student **st)
{
    struct forecast_read *c = ctx;
    size_t n;
    const struct fc_job *j = jobs_of(c, (*st)->id, &n);

    return forecast_student(&c->fc, *st, j, n);
}

/* Every student id first (the total the progress counts to), then each
 * student read and walked, FC_CHUNK at a time. */
static int walk_students(struct forecast_read *c, struct rconn *rc)
{
    const char *prefix = c->cfg->redis.prefix;
    int status = 0;

    if (students_list_all(rc, prefix, &c->ids) < 0)
        return -1;
    if (tell(c, 0))
        return -2;
    for (size_t at = 0; at < c->ids.n && status == 0; at += FC_CHUNK) {
        size_t n = c->ids.n - at < FC_CHUNK ? c->ids.n - at : FC_CHUNK;
        status = students_each(rc, prefix, (const char *const *)c->ids.v + at, n,
                               walk_student, c);
        if (status == 0 && tell(c, at + n))
            return -2;
    }
    return status;
}

/* --- event-triggered rules: their trigger's rate -------------------------- */

/* Counts, per rule, the events of the last FORECAST_EVENT_DAYS days that fire
 * it (ruleset_triggered(), the consumer's own matching), reading the
 * stream by time in pages. */
static int count_events(struct forecast_read *c, struct rconn *rc,
                        long long *count)
{
    char key[KEY_MAX], from[48], to[32];
    size_t idx[64];
    int status = 0;

    key_global(key, sizeof key, c->cfg->redis.prefix, "events");
    snprintf(from, sizeof from, "%lld",
             (long long)(c->now_ms - FORECAST_EVENT_DAYS * DAY_MS));
    snprintf(to, sizeof to, "%lld", (long long)c->now_ms);
    for (;;) {
        redisReply *rep =
            rconn_cmd(rc, "XRANGE %s %s %s COUNT %d", key, from, to, FC_PAGE);
        size_t n;
        if (!rep)
            return -1;
        n = rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0;
        for (size_t i = 0; i < n; i++) {
            struct event ev;
            struct event_reject rej;
            if (event_decode(rep->element[i], &ev, &rej) < 0)
                continue;
            size_t k = ruleset_triggered(c->set, &ev, idx, 64);
            for (size_t j = 0; j < k && j < 64; j++)
                count[idx[j]]++;
        }
        if (n) /* the next page starts after the last id */
            snprintf(from, sizeof from, "(%s",
                     rep->element[n - 1]->element[0]->str);
        reply_free(rep);
        if (n < FC_PAGE)
            break;
    }
    return status;
}

/* --rule R prints R alone; every rule is still walked, since the others'
 * messages take the caps R's would. */
static int estimate_event_rules(struct forecast_read *c, struct rconn *rc)
{
    long long *count = calloc(c->set->nrules + 1, sizeof *count);
    int any = 0;

    if (!count)
        return -1;
    for (size_t i = 0; i < c->set->nrules; i++)
        if (c->set->rules[i].src->trig.kind == TRIG_EVENT &&
            forecast_read_wanted(c, i))
            any = 1;
    if (any && count_events(c, rc, count) < 0) {
        free(count);
        return -1;
    }
    for (size_t i = 0; i < c->set->nrules; i++)
        if (c->set->rules[i].src->trig.kind == TRIG_EVENT &&
            forecast_read_wanted(c, i))
            forecast_estimate(&c->fc, i, count[i], FORECAST_EVENT_DAYS);
    free(count);
    return 0;
}

/* --- the run -------------------------------------------------------------- */

int forecast_read_run(struct forecast_read *c, struct rconn *rc, int64_t now_ms,
                      char *err, size_t errlen)
{
    int status = 0;

    c->now_ms = now_ms;
    if (forecast_init(&c->fc, c->cfg, &c->env, c->set, c->tmpls, now_ms,
                      c->days) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->inited = 1;
    if (read_pauses(c, rc) < 0 || read_queue(c, rc) < 0 ||
        (status = walk_students(c, rc)) < 0 ||
        estimate_event_rules(c, rc) < 0) {
        snprintf(err, errlen, "%s",
                 status == -2    ? "stopped"
                 : rc->errstr[0] ? rc->errstr
                                 : "out of memory");
        return -1;
    }
    return 0;
}

void forecast_read_free(struct forecast_read *c)
{
    if (c->inited)
        forecast_free(&c->fc);
    for (size_t i = 0; i < c->njobs; i++)
        free((char *)c->jobs[i].student);
    free(c->jobs);
    strset_clear(&c->ids);
    if (c->tmpls)
        tmpl_set_unref(c->tmpls);
    ruleset_free(c->set);
    rules_env_free(&c->env);
    c->inited = 0;
    c->jobs = NULL, c->tmpls = NULL, c->set = NULL;
    c->njobs = 0;
}
