/*
 * metrics.h - counters, gauges and histograms that /metrics shows in the
 * Prometheus text format. Each part of nudge registers its own metrics
 * once (at start, before threads) and then updates them from any thread:
 * updates are lock-free atomics.
 *
 * A metric family is its name; each labelled series is its own struct
 * metric (metric_counter("nudge_events_total", "...", "type=\"stage\"")).
 * Registered metrics live until the process exits; do not free them.
 */
#ifndef NUDGE_METRICS_H
#define NUDGE_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metric;

/* Registers (or finds, when name and labels were registered before) a
 * series. labels is NULL or Prometheus label text without braces. */
struct metric *metric_counter(const char *name, const char *help,
                              const char *labels);
struct metric *metric_gauge(const char *name, const char *help,
                            const char *labels);
/* Buckets are upper bounds in ascending order (in the metric's unit,
 * e.g. seconds); at most 32. */
struct metric *metric_histogram(const char *name, const char *help,
                                const char *labels, const double *buckets,
                                size_t nbuckets);

void metric_inc(struct metric *m);
void metric_add(struct metric *m, uint64_t n);
void metric_set(struct metric *m, int64_t v); /* gauges */
void metric_observe(struct metric *m, double v); /* histograms */
/* The current value of a counter or gauge (for tests and /healthz). */
int64_t metric_value(const struct metric *m);

/* The series registered as name with labels (NULL: none), or NULL when
 * nobody registered it: a reader's look-up, which registers nothing
 * (the supervisors' page, rules/supervisor_page.h). */
struct metric *metric_find(const char *name, const char *labels);
/* A histogram's count of observations and their sum; 0 and 0 for NULL. */
void metric_histogram_read(const struct metric *m, uint64_t *count,
                           double *sum);
/* The upper bound of the bucket holding the q-th quantile (0 < q <= 1)
 * of a histogram's observations: an estimate from above, as Prometheus's
 * histogram_quantile() without the interpolation. -1 when there is no
 * observation, INFINITY when it is past the last bound. */
double metric_histogram_quantile(const struct metric *m, double q);

/* Every metric in the text format; the caller frees. NULL on no memory. */
char *metrics_render(void);

#endif
