/*
 * defer.c - the jobs a batch of events queues, written at once (see
 * defer.h).
 */
#include "rules/defer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct deferred {
    char *runs_key, *rule, *value; /* the run's state, or NULL */
    char *id, *payload;
    int64_t delay_ms;
};

struct run_defer {
    struct deferred *v;
    size_t n, cap;
    struct resp more; /* commands sent with the runs' state */
    int more_replies;
};

struct run_defer *run_defer_new(void)
{
    return calloc(1, sizeof(struct run_defer));
}

static void clear(struct run_defer *d)
{
    resp_reset(&d->more);
    d->more_replies = 0;
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].runs_key);
        free(d->v[i].rule);
        free(d->v[i].value);
        free(d->v[i].id);
        free(d->v[i].payload);
    }
    d->n = 0;
}

void run_defer_free(struct run_defer *d)
{
    if (!d)
        return;
    clear(d);
    resp_free(&d->more);
    free(d->v);
    free(d);
}

size_t run_defer_count(const struct run_defer *d)
{
    return d->n + (d->more_replies > 0);
}

struct resp *run_defer_more(struct run_defer *d, int replies)
{
    d->more_replies += replies;
    return &d->more;
}

static char *dup_or_null(const char *s, int *oom)
{
    char *c = s ? strdup(s) : NULL;

    if (s && !c)
        *oom = 1;
    return c;
}

int run_defer_add(struct run_defer *d, const char *runs_key, const char *rule,
                  const char *value, const char *id, const char *payload,
                  int64_t delay_ms)
{
    struct deferred *e;
    int oom = 0;

    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        struct deferred *v = realloc(d->v, cap * sizeof *v);
        if (!v)
            return -1;
        d->v = v;
        d->cap = cap;
    }
    e = &d->v[d->n];
    e->runs_key = dup_or_null(runs_key, &oom);
    e->rule = dup_or_null(runs_key ? rule : NULL, &oom);
    e->value = dup_or_null(runs_key ? value : NULL, &oom);
    e->id = dup_or_null(id, &oom);
    e->payload = dup_or_null(payload, &oom);
    e->delay_ms = delay_ms;
    d->n++;
    return oom ? -1 : 0;
}

/* The runs' state first: a job never runs before its run is recorded. */
static int write_runs(struct run_defer *d, struct rconn *rc, char *err,
                      size_t n)
{
    int queued = d->more_replies, errors;

    if (queued && rconn_append_resp(rc, &d->more) < 0)
        goto fail;
    for (size_t i = 0; i < d->n; i++) {
        if (!d->v[i].runs_key)
            continue;
        if (rconn_append(rc, "HSET %s %s %s", d->v[i].runs_key, d->v[i].rule,
                         d->v[i].value) < 0)
            goto fail;
        queued++;
    }
    if (queued == 0)
        return 0;
    if ((errors = rconn_discard(rc, queued)) == 0)
        return 0;
fail:
    snprintf(err, n, "recording runs: %s",
             rc->errstr[0] ? rc->errstr : "an error reply");
    return -1;
}

int run_defer_flush(struct run_defer *d, struct rconn *rc, struct queue *q,
                    char *err, size_t n)
{
    struct queue_new *jobs;
    size_t added;
    int ret = -1;

    if (d->n == 0 && d->more_replies == 0)
        return 0;
    if (!(jobs = calloc(d->n ? d->n : 1, sizeof *jobs))) {
        snprintf(err, n, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < d->n; i++)
        jobs[i] = (struct queue_new){d->v[i].id, d->v[i].payload,
                                     strlen(d->v[i].payload), d->v[i].delay_ms,
                                     0};
    if (write_runs(d, rc, err, n) < 0)
        goto done;
    if (d->n && queue_schedule_many(q, jobs, d->n, &added) < 0) {
        snprintf(err, n, "queue: %s", queue_error(q));
        goto done;
    }
    ret = 0;
done:
    free(jobs);
    clear(d);
    return ret;
}
