/*
 * report_read.c - the report's counters read back, and the figures
 * drawn from them (see report_read.h).
 */
#include "rules/report_read.h"

#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "core/reply.h"

#define REPORT_CHUNK 1000 /* SCARDs sent at a time */

struct reader {
    struct rconn *rc;
    const struct config *cfg;
    const char *since;
    const struct report_progress *progress;
    size_t done, total;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The members of set key, sorted, in *out (the caller frees each and the
 * array). 0 or -1. */
static int members(struct rconn *rc, const char *key, char ***out, size_t *n)
{
    redisReply *rep = rconn_cmd(rc, "SMEMBERS %s", key);

    *out = NULL;
    *n = 0;
    if (!rep)
        return -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements &&
        !(*out = calloc(rep->elements, sizeof **out))) {
        reply_free(rep);
        return -1;
    }
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++)
        if (rep->element[i]->type == REDIS_REPLY_STRING &&
            ((*out)[*n] = strdup(rep->element[i]->str)))
            (*n)++;
    reply_free(rep);
    if (*n > 1)
        qsort(*out, *n, sizeof **out, cmp_str);
    return 0;
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* treated, holdout, then the variants in name order. */
static int arm_order(const char *a)
{
    return strcmp(a, REPORT_TREATED) == 0   ? 0
           : strcmp(a, REPORT_HOLDOUT) == 0 ? 1
                                            : 2;
}

static int cmp_arm(const void *a, const void *b)
{
    const struct report_arm *x = a, *y = b;
    int d = arm_order(x->name) - arm_order(y->name);

    return d ? d : strcmp(x->name, y->name);
}

static void tell(struct reader *rd)
{
    if (rd->progress && rd->progress->fn)
        rd->progress->fn(rd->progress->ctx, rd->done, rd->total);
}

/* SCARDs of (day, arm, count) for days[from..to), all arms, summed into
 * r. 0 or -1. */
static int count_days(struct reader *rd, struct report_rule *r, char **days,
                      size_t from, size_t to)
{
    const char *prefix = rd->cfg->redis.prefix;
    char key[KEY_MAX];
    size_t sent = 0;

    for (size_t d = from; d < to; d++)
        for (size_t a = 0; a < r->narms; a++)
            for (int m = 0; m < REPORT_NMETRICS; m++) {
                report_set_key(key, sizeof key, prefix, r->name, days[d],
                               r->arms[a].name, (enum report_metric)m);
                if (rconn_append(rd->rc, "SCARD %s", key) < 0)
                    return -1;
                sent++;
            }
    for (size_t d = from; d < to; d++)
        for (size_t a = 0; a < r->narms; a++)
            for (int m = 0; m < REPORT_NMETRICS; m++) {
                redisReply *rep = rconn_reply(rd->rc);
                if (!rep)
                    return -1;
                if (rep->type == REDIS_REPLY_INTEGER)
                    r->arms[a].n[m] += rep->integer;
                reply_free(rep);
            }
    rd->done += sent;
    tell(rd);
    return 0;
}

/* The days of a rule on or after `since`. */
static size_t first_day(const struct reader *rd, char **days, size_t n)
{
    size_t i = 0;

    while (rd->since && i < n && strcmp(days[i], rd->since) < 0)
        i++;
    return i;
}

/* Reads rule name's arms and counts into r. 0 or -1. */
static int read_rule(struct reader *rd, const char *name, struct report_rule *r)
{
    const char *prefix = rd->cfg->redis.prefix;
    char key[KEY_MAX], **days = NULL, **arms = NULL;
    size_t ndays = 0, narms = 0, step, d;
    int ret = -1;

    memset(r, 0, sizeof *r);
    if (!(r->name = strdup(name)))
        return -1;
    report_index_key(key, sizeof key, prefix, name, "days");
    if (members(rd->rc, key, &days, &ndays) < 0)
        goto done;
    report_index_key(key, sizeof key, prefix, name, "arms");
    if (members(rd->rc, key, &arms, &narms) < 0)
        goto done;
    if (narms && !(r->arms = calloc(narms, sizeof *r->arms)))
        goto done;
    for (size_t a = 0; a < narms; a++, r->narms++)
        r->arms[a].name = arms[a], arms[a] = NULL;
    if (r->narms > 1)
        qsort(r->arms, r->narms, sizeof *r->arms, cmp_arm);
    step = r->narms ? REPORT_CHUNK / (r->narms * REPORT_NMETRICS) + 1 : 1;
    for (d = first_day(rd, days, ndays); d < ndays; d += step)
        if (count_days(rd, r, days, d, d + step < ndays ? d + step : ndays) < 0)
            goto done;
    ret = 0;
done:
    free_strs(days, ndays);
    free_strs(arms, narms);
    return ret;
}

/* The integer reply of SCARD key, 0 when there is none. */
static long long scard(struct rconn *rc, const char *key)
{
    redisReply *rep = rconn_cmd(rc, "SCARD %s", key);
    long long n = 0;

    if (rep) {
        n = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
        reply_free(rep);
    }
    return n;
}

/* How many SCARDs the report will send, for a progress line. */
static size_t count_keys(struct reader *rd, char **names, size_t n)
{
    const char *prefix = rd->cfg->redis.prefix;
    char key[KEY_MAX];
    size_t total = 0;

    for (size_t i = 0; i < n; i++) {
        long long days, arms;
        report_index_key(key, sizeof key, prefix, names[i], "days");
        days = scard(rd->rc, key);
        report_index_key(key, sizeof key, prefix, names[i], "arms");
        arms = scard(rd->rc, key);
        total += (size_t)(days * arms * REPORT_NMETRICS);
    }
    return total;
}

int report_read(struct rconn *rc, const struct config *cfg, const char *rule,
                const char *since, const struct report_progress *progress,
                struct report_data *out)
{
    struct reader rd = {rc, cfg, since, progress, 0, 0};
    char key[KEY_MAX], **names = NULL, *one[1];
    size_t n = 0;
    int ret = 0;

    memset(out, 0, sizeof *out);
    if (rule) {
        one[0] = (char *)rule;
    } else {
        report_rules_key(key, sizeof key, cfg->redis.prefix);
        if (members(rc, key, &names, &n) < 0)
            return -1;
    }
    if (!(out->rules = calloc(rule ? 1 : n ? n : 1, sizeof *out->rules))) {
        free_strs(names, n);
        return -1;
    }
    if (progress) {
        rd.total = count_keys(&rd, rule ? one : names, rule ? 1 : n);
        tell(&rd);
    }
    for (size_t i = 0; i < (rule ? 1 : n) && ret == 0; i++, out->nrules++)
        ret = read_rule(&rd, rule ? rule : names[i], &out->rules[i]);
    free_strs(names, n);
    return ret;
}

void report_data_free(struct report_data *d)
{
    for (size_t i = 0; i < d->nrules; i++) {
        for (size_t a = 0; a < d->rules[i].narms; a++)
            free(d->rules[i].arms[a].name);
        free(d->rules[i].arms);
        free(d->rules[i].name);
    }
    free(d->rules);
    memset(d, 0, sizeof *d);
}

/* --- the figures ---------------------------------------------------------- */

const struct report_arm *report_find_arm(const struct report_rule *r,
                                         const char *name)
{
    for (size_t a = 0; a < r->narms; a++)
        if (strcmp(r->arms[a].name, name) == 0)
            return &r->arms[a];
    return NULL;
}

double report_rate(const struct report_arm *a)
{
    return a->n[REPORT_STARTED] > 0
               ? (double)a->n[REPORT_CONVERTED] / (double)a->n[REPORT_STARTED]
               : 0;
}

int report_enough(const struct config *cfg, const struct report_arm *a,
                  const struct report_arm *h)
{
    long long min = cfg->report.min_students;

    return a->n[REPORT_STARTED] >= min && h->n[REPORT_STARTED] >= min;
}

void report_lift(const struct report_arm *a, const struct report_arm *h,
                 struct lift *l)
{
    lift_newcombe((long)a->n[REPORT_CONVERTED], (long)a->n[REPORT_STARTED],
                  (long)h->n[REPORT_CONVERTED], (long)h->n[REPORT_STARTED],
                  LIFT_Z95, l);
}

size_t report_comparisons(const struct report_rule *r,
                          const struct report_arm **pairs, size_t max)
{
    const struct report_arm *h = report_find_arm(r, REPORT_HOLDOUT),
                            *first = NULL;
    size_t n = 0, vlen = strlen(REPORT_VARIANT);

    for (size_t a = 0; a < r->narms && n + 2 <= max; a++) {
        const struct report_arm *x = &r->arms[a];
        if (x == h)
            continue;
        if (h)
            pairs[n++] = x, pairs[n++] = h;
        if (strncmp(x->name, REPORT_VARIANT, vlen) != 0)
            continue;
        if (!first)
            first = x;
        else if (n + 2 <= max)
            pairs[n++] = x, pairs[n++] = first;
    }
    return n / 2;
}
