/*
 * metrics.c - the metric registry and its Prometheus rendering.
 *
 * Registration takes a lock and appends to a list; updates touch only the
 * metric's own atomics, so the hot paths never wait on each other.
 */
#include "core/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BUCKETS 32

enum metric_kind { M_COUNTER, M_GAUGE, M_HISTOGRAM };

struct metric {
    enum metric_kind kind;
    char *name, *help, *labels;
    int64_t value; /* counter or gauge */
    /* histogram: counts per bucket (not cumulative), sum in micro-units */
    double bounds[MAX_BUCKETS];
    uint64_t counts[MAX_BUCKETS + 1];
    size_t nbounds;
    int64_t sum_micros;
    struct metric *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metric *registry, *registry_tail;

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static struct metric *metric_register(enum metric_kind kind, const char *name,
                                      const char *help, const char *labels)
{
    struct metric *m;

    pthread_mutex_lock(&registry_lock);
    for (m = registry; m; m = m->next)
        if (strcmp(m->name, name) == 0 && same(m->labels, labels))
            goto out;
    if ((m = calloc(1, sizeof *m)) == NULL)
        goto out;
    m->kind = kind;
    m->name = strdup(name);
    m->help = strdup(help ? help : "");
    m->labels = labels ? strdup(labels) : NULL;
    if (registry_tail)
        registry_tail->next = m;
    else
        registry = m;
    registry_tail = m;
out:
    pthread_mutex_unlock(&registry_lock);
    return m;
}

struct metric *metric_counter(const char *name, const char *help,
                              const char *labels)
{
    return metric_register(M_COUNTER, name, help, labels);
}

struct metric *metric_gauge(const char *name, const char *help,
                            const char *labels)
{
    return metric_register(M_GAUGE, name, help, labels);
}

struct metric *metric_histogram(const char *name, const char *help,
                                const char *labels, const double *buckets,
                                size_t nbuckets)
{
    struct metric *m = metric_register(M_HISTOGRAM, name, help, labels);

    if (m && m->nbounds == 0) {
        m->nbounds = nbuckets < MAX_BUCKETS ? nbuckets : MAX_BUCKETS;
        memcpy(m->bounds, buckets, m->nbounds * sizeof *buckets);
    }
    return m;
}

void metric_inc(struct metric *m)
{
    if (m)
        __atomic_add_fetch(&m->value, 1, __ATOMIC_RELAXED);
}

void metric_add(struct metric *m, uint64_t n)
{
    if (m)
        __atomic_add_fetch(&m->value, (int64_t)n, __ATOMIC_RELAXED);
}

void metric_set(struct metric *m, int64_t v)
{
    if (m)
        __atomic_store_n(&m->value, v, __ATOMIC_RELAXED);
}

void metric_observe(struct metric *m, double v)
{
    size_t i = 0;

    if (!m)
        return;
    while (i < m->nbounds && v > m->bounds[i])
        i++;
    __atomic_add_fetch(&m->counts[i], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&m->sum_micros, (int64_t)(v * 1e6), __ATOMIC_RELAXED);
}

int64_t metric_value(const struct metric *m)
{
    return m ? __atomic_load_n(&m->value, __ATOMIC_RELAXED) : 0;
}

struct metric *metric_find(const char *name, const char *labels)
{
    struct metric *m;

    pthread_mutex_lock(&registry_lock);
    for (m = registry; m; m = m->next)
        if (strcmp(m->name, name) == 0 && same(m->labels, labels))
            break;
    pthread_mutex_unlock(&registry_lock);
    return m;
}

void metric_histogram_read(const struct metric *m, uint64_t *count,
                           double *sum)
{
    *count = 0;
    *sum = 0;
    if (!m || m->kind != M_HISTOGRAM)
        return;
    for (size_t i = 0; i <= m->nbounds; i++)
        *count += __atomic_load_n(&m->counts[i], __ATOMIC_RELAXED);
    *sum = (double)__atomic_load_n(&m->sum_micros, __ATOMIC_RELAXED) / 1e6;
}

double metric_histogram_quantile(const struct metric *m, double q)
{
    uint64_t counts[MAX_BUCKETS + 1], total = 0, cum = 0;

    if (!m || m->kind != M_HISTOGRAM)
        return -1;
    for (size_t i = 0; i <= m->nbounds; i++)
        total += counts[i] = __atomic_load_n(&m->counts[i], __ATOMIC_RELAXED);
    if (total == 0)
        return -1;
    for (size_t i = 0; i < m->nbounds; i++) {
        cum += counts[i];
        if ((double)cum >= q * (double)total)
            return m->bounds[i];
    }
    return INFINITY;
}

/* Writes "name{labels,extra} " (braces only when there are labels). */
static void series(FILE *fp, const char *name, const char *suffix,
                   const char *labels, const char *extra)
{
    int any = (labels && *labels) || extra;

    fprintf(fp, "%s%s", name, suffix);
    if (!any) {
        fputc(' ', fp);
        return;
    }
    fprintf(fp, "{%s%s%s} ", labels && *labels ? labels : "",
            labels && *labels && extra ? "," : "", extra ? extra : "");
}

static void render_histogram(FILE *fp, const struct metric *m)
{
    uint64_t cum = 0;
    char le[64];

    for (size_t i = 0; i <= m->nbounds; i++) {
        cum += __atomic_load_n(&m->counts[i], __ATOMIC_RELAXED);
        if (i < m->nbounds)
            snprintf(le, sizeof le, "le=\"%g\"", m->bounds[i]);
        else
            snprintf(le, sizeof le, "le=\"+Inf\"");
        series(fp, m->name, "_bucket", m->labels, le);
        fprintf(fp, "%llu\n", (unsigned long long)cum);
    }
    series(fp, m->name, "_sum", m->labels, NULL);
    fprintf(fp, "%.6f\n",
            (double)__atomic_load_n(&m->sum_micros, __ATOMIC_RELAXED) / 1e6);
    series(fp, m->name, "_count", m->labels, NULL);
    fprintf(fp, "%llu\n", (unsigned long long)cum);
}

static int family_seen(const struct metric *upto, const char *name)
{
    for (const struct metric *m = registry; m != upto; m = m->next)
        if (strcmp(m->name, name) == 0)
            return 1;
    return 0;
}

static void render_series(FILE *fp, const struct metric *m)
{
    if (m->kind == M_HISTOGRAM) {
        render_histogram(fp, m);
        return;
    }
    series(fp, m->name, "", m->labels, NULL);
    fprintf(fp, "%lld\n", (long long)metric_value(m));
}

/* The text format wants each family's series together, after one HELP and
 * TYPE; registration order may interleave families, so group here. */
char *metrics_render(void)
{
    static const char *const kinds[] = {"counter", "gauge", "histogram"};
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    if (!fp)
        return NULL;
    pthread_mutex_lock(&registry_lock);
    for (const struct metric *m = registry; m; m = m->next) {
        if (family_seen(m, m->name))
            continue;
        fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help,
                m->name, kinds[m->kind]);
        for (const struct metric *s = m; s; s = s->next)
            if (strcmp(s->name, m->name) == 0)
                render_series(fp, s);
    }
    pthread_mutex_unlock(&registry_lock);
    fclose(fp);
    return buf;
}
