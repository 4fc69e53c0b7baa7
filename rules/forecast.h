/*
 * forecast.h - what the rules will send over the next days
 * (`nudgectl forecast` and the supervisors' page, through
 * rules/forecast_read.h): for each student, the runs
 * already waiting in the queue and the firings of the scheduled rules are
 * walked step by step through the daemon's own code (rules/eval.h for
 * `when` and `stop`, rules/policy.h for quiet hours, staff hours,
 * blackout dates and opt-outs, rules/caps.h for the frequency caps,
 * rules/holdout.h, the templates for the SMS segments), and every message
 * that would go out is counted by rule, local day, channel and hour.
 * Event-triggered rules are added as estimates from their trigger's
 * recent rate (forecast_estimate()). docs/insight.md, "Forecast", says
 * what is simplified.
 *
 *     forecast_init ── forecast_student (each student, with its jobs)
 *                  ── forecast_estimate (each event rule)
 *                  ── the cells, totals, busiest hour ── forecast_free
 *
 * Nothing here reads or writes Redis: rules/forecast_read.c reads the
 * students, the queued jobs, the pauses and the events and hands them
 * in, so that the counts are a function of what is given (and a unit
 * test can give it).
 *
 * Ownership: forecast_init() borrows cfg, set, tmpls and chans (they
 * must outlive the forecast) and allocates; forecast_free() frees.
 */
#ifndef NUDGE_RULES_FORECAST_H
#define NUDGE_RULES_FORECAST_H

#include <stddef.h>
#include <stdint.h>

#include "channels/channel.h"
#include "core/config.h"
#include "core/student.h"
#include "rules/compile.h"
#include "rules/checker.h"
#include "rules/eval.h"
#include "templates/tmpl.h"

#define FORECAST_DAYS_MAX 366

/* A step job found in the queue: run `rule` goes on at step `step`
 * (counted from 0, as in the payload) at due_ms. */
struct fc_job {
    const char *student; /* borrowed */
    size_t rule;         /* index in the set */
    size_t step;
    int64_t due_ms;
    int64_t started_ms;
};

/* One rule × day × channel. */
struct fc_cell {
    long long messages;  /* from the queue and the schedules: exact */
    double estimated;    /* from the trigger events' rate: not whole */
    long long segments;  /* SMS channels, of messages */
};

struct fc_rule {
    const struct crule *rule;
    int estimated;          /* triggered by events: new runs from their
                               rate (its queued runs are exact) */
    long long events_30d;   /* estimated: trigger events seen */
    int paused;             /* paused (the rule) at the start */
    long long runs;         /* started within the horizon */
    long long held_out;     /* would-be runs held out */
    long long skipped;      /* messages the policy, a cap, an opt-out or
                               the template skips */
    long long deferred;     /* messages moved by the policy or a cap */
    long long held_paused;  /* messages a pause holds */
    long long later;        /* messages pushed past the horizon */
};

/* Where a student's run begins: a queued job or a schedule's firing. */
struct fc_begin {
    int64_t at;
    size_t rule, step;
    int job;
};

struct fc_chan {
    struct channel ch; /* name, as, caps, price_per_segment (borrowed) */
    int paused;        /* the channel (or all) is paused */
};

struct forecast {
    const struct config *cfg;
    const struct ruleset *set;
    const struct tmpl_set *tmpls;
    int64_t start_ms, end_ms;
    int days;
    int64_t day_start[FORECAST_DAYS_MAX + 1]; /* local midnights; [0] is
                                                 today's */
    struct fc_chan *chans;
    size_t nchans;
    struct fc_rule *rules;
    size_t nrules;
    struct fc_cell *cells;   /* [rule][day][chan] */
    double *hours;           /* [day * 24 + local hour]: exact rules */
    long long students;
    struct fc_begin *firings; /* the schedules' firings, in time order */
    size_t nfirings;
    /* per student */
    struct rview view;
    struct tmpl_out out;
    struct fc_caps *caps;    /* counters taken so far */
    size_t ncaps, capcaps;
    int64_t *busy_until;     /* [rule]: a run of it is in progress */
    struct fc_starts *starts; /* [rule]: run starts, for `limit` */
    int *rendered;           /* [rule * nsteps_max + step]: segments + 1,
                                0 not yet, -1 skipped */
    size_t nsteps_max;
    char **paused_pairs;     /* "rule\0chan" paused: rule R on channel C */
    size_t npaused_pairs;
};

/* --- setting up --------------------------------------------------------- */

/* A forecast from start_ms over `days` local days (today counts as the
 * first; [delivery] timezone is the process's zone, clock_set_zone()),
 * for the rules of set on env's channels (their caps and price read from
 * cfg's sections). 0, or -1 on no memory or a bad day count. */
int forecast_init(struct forecast *fc, const struct config *cfg,
                  const struct rules_env *env, const struct ruleset *set,
                  const struct tmpl_set *tmpls, int64_t start_ms, int days);
void forecast_free(struct forecast *fc);
/* Pauses read from Redis (core/pause.h's fields): "all", "channel:C",
 * "rule:R", "rule:R/channel:C". Unknown names are ignored. 0 or -1. */
int forecast_pause(struct forecast *fc, const char *field);

/* --- counting ----------------------------------------------------------- */

/* Walks everything student st would be sent: its jobs (njobs, any order;
 * all of this student) and the firings of the scheduled rules in the
 * horizon, in time order. Returns 0, or -1 on no memory. */
int forecast_student(struct forecast *fc, const struct student *st,
                     const struct fc_job *jobs, size_t njobs);
/* Event-triggered rule i: count trigger events were seen in the last
 * span_days days; each is taken to start one run whose message steps go
 * out at their waits' offsets (no `when`, no policy, spread evenly over
 * the day), into the cells' `estimated`. Marks the rule estimated. */
void forecast_estimate(struct forecast *fc, size_t rule, long long count,
                       int span_days);

/* --- reading the result ------------------------------------------------- */

struct fc_cell *forecast_cell(const struct forecast *fc, size_t rule, int day,
                              size_t chan);
/* The local day index of ms (0 today), or -1 outside the horizon. */
int forecast_day_of(const struct forecast *fc, int64_t ms);
/* The busiest hour: its day and local hour, and the messages in it (0
 * when nothing is sent). Exact counts only (no estimates). */
double forecast_busiest_hour(const struct forecast *fc, int *day, int *hour);
/* Segments × price_per_segment of channel c over the horizon. */
double forecast_cost(const struct forecast *fc, size_t chan,
                     long long *segments);
/* The channel named name, or -1. */
int forecast_chan_find(const struct forecast *fc, const char *name);
/* The exact messages of rule (or every rule: -1) on local day (or every
 * day: -1) and channel chan (or every channel: -1); their estimate in
 * *est. */
long long forecast_sum(const struct forecast *fc, long rule, int day,
                       long chan, double *est);
/* The channel sends SMS (as = sms): it has segments and a cost. */
int forecast_is_sms(const struct fc_chan *c);
/* "2026-12-01": day `day` of the horizon, local. Returns buf. */
char *forecast_day_text(const struct forecast *fc, int day, char *buf,
                        size_t n);
/* An estimate below this is shown as none. */
#define FORECAST_EST_SHOWN 0.05
/* "120", or "120 + ~3.4" with an estimate (est >= FORECAST_EST_SHOWN).
 * Returns buf. */
char *forecast_count_text(long long n, double est, char *buf, size_t len);

#endif
