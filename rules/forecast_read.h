/*
 * forecast_read.h - a whole forecast (rules/forecast.h) from what is in
 * Redis: the rules and templates loaded and checked as nudged loads
 * them, the pauses, the step jobs of the delayed queue, every student,
 * and the trigger events of the last FORECAST_EVENT_DAYS days. One
 * reader for `nudgectl forecast` (cli/cmd_forecast.c, which prints it)
 * and the supervisors' page (rules/supervisor_page.c, which draws it;
 * nudged computes it on a thread of its own, daemon/report_page.c).
 *
 *     forecast_read_load ── forecast_read_run ── fr.fc, the figures
 *                        ── forecast_read_free
 *
 * Reads Redis, writes nothing. Threads: any, one forecast_read each; it
 * uses only the rconn it is given. The forecast's local days are in the
 * process's zone (clock_set_zone()), which both programs set to
 * [delivery] timezone.
 *
 * Ownership: a struct forecast_read owns its rules, templates, jobs and
 * ids; forecast_read_free() frees them. cfg is borrowed.
 */
#ifndef NUDGE_RULES_FORECAST_READ_H
#define NUDGE_RULES_FORECAST_READ_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/diag.h"
#include "core/redis.h"
#include "rules/forecast.h"

#define FORECAST_EVENT_DAYS 30 /* the rate of trigger events is taken over */

/* Told how far the walk over the students is; a non-zero return stops
 * the forecast (forecast_read_run() then returns -1, errstr "stopped"). */
struct forecast_progress {
    int (*fn)(void *ctx, size_t done, size_t total);
    void *ctx;
};

struct forecast_read {
    const struct config *cfg;
    int days;         /* 1 .. FORECAST_DAYS_MAX */
    const char *rule; /* NULL, or the one rule shown (borrowed) */
    const char *dir;  /* NULL: [rules] dir (borrowed) */
    struct forecast_progress progress; /* fn NULL: none */
    /* filled */
    struct rules_env env;
    struct ruleset *set;
    struct tmpl_set *tmpls;
    struct forecast fc; /* the figures, after forecast_read_run() */
    int only;           /* index of `rule` in the set, else -1 */
    struct fc_job *jobs;
    size_t njobs, capjobs;
    long long jobs_seen, jobs_stale;
    struct strset ids; /* every student id (rules/scanload.h) */
    int64_t now_ms;
    int inited; /* fc is set up (forecast_free() it) */
};

/* What forecast_read_load() found wrong. */
enum forecast_read_status {
    FORECAST_READ_OK,
    FORECAST_READ_RULES,  /* the rules or templates have errors (in d) */
    FORECAST_READ_CONFIG, /* a price, an unknown rule, no memory (err) */
};

/* Loads the rules (fr->dir or [rules] dir) and templates and checks the
 * channels' prices of fr->cfg; the diagnostics go to d, a one-line reason
 * to err. fr's cfg, days, rule, dir and progress are set by the caller,
 * the rest zeroed. */
enum forecast_read_status forecast_read_load(struct forecast_read *fr,
                                             struct diag *d, char *err,
                                             size_t errlen);
/* Reads Redis and walks every student, from now_ms. 0, or -1 (err:
 * Redis's error, "out of memory" or "stopped"). */
int forecast_read_run(struct forecast_read *fr, struct rconn *rc,
                      int64_t now_ms, char *err, size_t errlen);
void forecast_read_free(struct forecast_read *fr);

/* Rule r is shown (no --rule, or it is the one). */
int forecast_read_wanted(const struct forecast_read *fr, size_t r);

#endif
