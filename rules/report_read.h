/*
 * report_read.h - reading the report's counters (rules/report.h) back:
 * per rule and arm (treated, holdout, each variant), the students
 * started, reached, replied, opted out and converted, summed over the
 * start days kept, and the figures drawn from them (rate, the lift of an
 * arm over another with its 95% interval, rules/lift.h). One reader for
 * `nudgectl report` (cli/cmd_report.c, which prints it) and the
 * supervisors' page (rules/supervisor_page.c, which draws it).
 *
 * Reads Redis (SMEMBERS of the indexes, then pipelined SCARDs per day,
 * arm and count), writes nothing.
 *
 * Ownership: report_read() fills a struct report_data the caller frees
 * with report_data_free(); the pointers the figures return point into it.
 */
#ifndef NUDGE_RULES_REPORT_READ_H
#define NUDGE_RULES_REPORT_READ_H

#include <stddef.h>

#include "core/config.h"
#include "core/redis.h"
#include "rules/lift.h"
#include "rules/report.h"

/* Comparisons kept per rule at most (report_comparisons()). */
#define REPORT_MAX_PAIRS 64

struct report_arm {
    char *name; /* REPORT_TREATED, REPORT_HOLDOUT, REPORT_VARIANT "NAME" */
    long long n[REPORT_NMETRICS];
};

struct report_rule {
    char *name;
    struct report_arm *arms; /* treated, holdout, then variants by name */
    size_t narms;            /* 0: no counters yet */
};

struct report_data {
    struct report_rule *rules; /* by name */
    size_t nrules;
};

/* Told how far the reading is: done of total SCARDs (total is counted
 * first, with a few SCARDs of its own, only when this is given). */
struct report_progress {
    void (*fn)(void *ctx, size_t done, size_t total);
    void *ctx;
};

/* Reads rule (or, NULL, every rule counted) into out, counting the
 * students started on `since` (YYYY-MM-DD) or later (NULL: any day).
 * progress may be NULL. 0, or -1 when Redis failed (rc->errstr) or
 * memory ran out (rc->errstr empty); out holds what was read either way. */
int report_read(struct rconn *rc, const struct config *cfg, const char *rule,
                const char *since, const struct report_progress *progress,
                struct report_data *out);
void report_data_free(struct report_data *d);

/* --- the figures ---------------------------------------------------------- */

const struct report_arm *report_find_arm(const struct report_rule *r,
                                         const char *name);
/* converted / started, 0 with none started. */
double report_rate(const struct report_arm *a);
/* Both arms have [report] min_students started. */
int report_enough(const struct config *cfg, const struct report_arm *a,
                  const struct report_arm *h);
/* The lift of a over h (converted of started), at 95%. */
void report_lift(const struct report_arm *a, const struct report_arm *h,
                 struct lift *l);
/* The comparisons of a rule, each an arm over a base: every arm over the
 * holdout, and each variant but the first over the first (the variants
 * in name order), as pairs[2i] over pairs[2i+1]. Returns how many (of
 * room max pointers). */
size_t report_comparisons(const struct report_rule *r,
                          const struct report_arm **pairs, size_t max);

#endif
