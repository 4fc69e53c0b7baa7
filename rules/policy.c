/*
 * policy.c - the sending policy of a message step (see policy.h).
 */
#include "rules/policy.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/tz.h"
#include "core/worktime.h"
#include "rules/delivery.h"
#include "rules/leads.h"

#define DAY_MS 86400000LL

struct day_search {
    int64_t day;  /* in: the local day looked for */
    int64_t last; /* out: the last day of the range holding it, or -1 */
};

static int holds_day(int64_t first, int64_t last, void *arg)
{
    struct day_search *d = arg;

    if (d->day < first || d->day > last)
        return 0;
    d->last = last;
    return 1;
}

/* A blackout date (of dates, [delivery] blackout or blackout_service)
 * in zone at now_ms: the instant the class may go again, the morning
 * after the blackout (at the end of its quiet hours, else midnight), with
 * ranges that follow one another taken together; 0 when now is no
 * blackout date. */
static int64_t blackout_until(const char *dates, const char *hours,
                              const char *zone, int64_t now_ms)
{
    int64_t local = tz_to_local(zone, now_ms);
    struct day_search d = {.day = (local >= 0 ? local : local - DAY_MS + 1) /
                                  DAY_MS,
                           .last = -1};
    char err[128];
    int from, to;

    if (!dates || !dates[0])
        return 0;
    for (;;) {
        int64_t day = d.day;
        d.last = -1;
        worktime_parse_ranges(dates, holds_day, &d, err, sizeof err);
        if (d.last < 0)
            break;
        d.day = d.last + 1;
        if (d.day <= day) /* cannot happen; never loop */
            break;
    }
    if (d.day * DAY_MS <= local)
        return 0; /* today is no blackout date */
    if (quiet_hours_parse(hours, &from, &to) < 0)
        to = 0;
    return tz_next_local(zone, tz_from_local(zone, d.day * DAY_MS), to);
}

static enum policy_verdict decide(struct policy_decision *d,
                                  enum policy_verdict v, const char *reason)
{
    d->verdict = v;
    d->reason = reason;
    return v;
}

void policy_count(enum policy_verdict v, const char *reason,
                  enum msg_class cls)
{
    char labels[160];

    if (v == POLICY_SEND)
        return;
    snprintf(labels, sizeof labels,
             "verdict=\"%s\",reason=\"%s\",class=\"%s\"",
             v == POLICY_DEFER ? "deferred" : "skipped", reason,
             msg_class_name(cls));
    metric_inc(metric_counter("nudge_policy_total",
                              "Messages the sending policy deferred or "
                              "skipped, by reason and class",
                              labels));
}

/* The staff window ([delivery] quiet_hours_staff) at now_ms: the instant
 * staff may be messaged again, or 0 when they may be now. */
static int64_t staff_until(const struct config *cfg, int64_t now_ms)
{
    const char *hours = cfg->delivery.quiet_hours_staff;
    int64_t open;

    if (!hours || !hours[0])
        return 0;
    if (strcmp(hours, "working") != 0)
        return quiet_until(hours, cfg->worktime.zone, now_ms);
    open = worktime_next_open(&cfg->worktime, now_ms);
    /* -1: no working day for ten years (a calendar that closes all):
     * never held rather than never sent */
    return open > now_ms ? open : 0;
}

enum policy_verdict policy_window(const struct config *cfg, enum msg_class cls,
                                  const struct student *st, int64_t now_ms,
                                  struct policy_decision *d)
{
    const char *hours;

    d->until = 0;
    d->why[0] = 0;
    if (cls == MSG_STAFF) {
        hours = cfg->delivery.quiet_hours_staff;
        d->zone = cfg->worktime.zone;
        if (!(d->until = staff_until(cfg, now_ms)))
            return decide(d, POLICY_SEND, "");
        if (strcmp(hours, "working") == 0)
            snprintf(d->why, sizeof d->why,
                     "staff hours: outside working time (%s %s in %s)",
                     cfg->work.days, cfg->work.hours, d->zone);
        else
            snprintf(d->why, sizeof d->why, "staff hours %s in %s", hours,
                     d->zone);
        return decide(d, POLICY_DEFER, "staff_hours");
    }
    d->zone = st ? delivery_zone(cfg, st) : delivery_default_zone(cfg);
    hours = cls == MSG_SERVICE ? cfg->delivery.quiet_hours_service
                               : cfg->delivery.quiet_hours;
    if ((d->until = quiet_until(hours, d->zone, now_ms))) {
        snprintf(d->why, sizeof d->why, "quiet hours %s in %s", hours,
                 d->zone);
        return decide(d, POLICY_DEFER, "quiet_hours");
    }
    return decide(d, POLICY_SEND, "");
}

char *policy_until_text(const struct policy_decision *d, char *buf, size_t n)
{
    time_t t = (time_t)(tz_to_local(d->zone, d->until) / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

int64_t policy_staff_hold(const struct config *cfg, int64_t now_ms,
                          const char *what)
{
    struct policy_decision d;
    char when[32];

    if (policy_window(cfg, MSG_STAFF, NULL, now_ms, &d) != POLICY_DEFER)
        return 0;
    policy_count(POLICY_DEFER, d.reason, MSG_STAFF);
    log_info("%s: %s: waits until %s", what, d.why,
             worktime_format(&cfg->worktime, d.until, when, sizeof when));
    return d.until - now_ms;
}

enum policy_verdict policy_check(const struct config *cfg, const struct step *s,
                                 enum msg_class cls, const char *type,
                                 const struct student *st, int64_t now_ms,
                                 struct policy_decision *d)
{
    d->until = 0;
    d->why[0] = 0;
    d->zone = delivery_zone(cfg, st);
    /* staff messages: the lead must be open, then staff hours */
    if (s->kind != STEP_SEND && leads_closed(cfg, st, d->why, sizeof d->why))
        return decide(d, POLICY_END, "closed_lead");
    if (cls != MSG_STAFF && /* staff: [worktime]'s holidays */
        (d->until = blackout_until(cls == MSG_MARKETING
                                       ? cfg->delivery.blackout
                                       : cfg->delivery.blackout_service,
                                   cls == MSG_MARKETING
                                       ? cfg->delivery.quiet_hours
                                       : cfg->delivery.quiet_hours_service,
                                   d->zone, now_ms))) {
        snprintf(d->why, sizeof d->why, "a blackout date for %s in %s",
                 msg_class_name(cls), d->zone);
        return decide(d, POLICY_DEFER, "blackout");
    }
    if (policy_window(cfg, cls, st, now_ms, d) == POLICY_DEFER ||
        s->kind != STEP_SEND)
        return d->verdict;
    if (student_opted_out(st, type)) {
        snprintf(d->why, sizeof d->why, "the student opted out of %s", type);
        return decide(d, POLICY_SKIP, "optout");
    }
    return decide(d, POLICY_SEND, "");
}
