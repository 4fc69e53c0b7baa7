/*
 * policy.c - the sending policy of a message step (see policy.h).
 */
#include "rules/policy.h"

#include <stdio.h>

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

/* A blackout date ([delivery] blackout) in zone at now_ms: the instant
 * marketing may go again, the morning after the blackout (at the end of
 * the quiet hours, else midnight), with ranges that follow one another
 * taken together; 0 when now is no blackout date. */
static int64_t blackout_until(const struct config *cfg, const char *zone,
                              int64_t now_ms)
{
    int64_t local = tz_to_local(zone, now_ms);
    struct day_search d = {.day = (local >= 0 ? local : local - DAY_MS + 1) /
                                  DAY_MS,
                           .last = -1};
    char err[128];
    int from, to;

    if (!cfg->delivery.blackout || !cfg->delivery.blackout[0])
        return 0;
    for (;;) {
        int64_t day = d.day;
        d.last = -1;
        worktime_parse_ranges(cfg->delivery.blackout, holds_day, &d, err,
                              sizeof err);
        if (d.last < 0)
            break;
        d.day = d.last + 1;
        if (d.day <= day) /* cannot happen; never loop */
            break;
    }
    if (d.day * DAY_MS <= local)
        return 0; /* today is no blackout date */
    if (quiet_hours_parse(cfg->delivery.quiet_hours, &from, &to) < 0)
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

enum policy_verdict policy_check(const struct config *cfg, const struct step *s,
                                 enum msg_class cls, const char *type,
                                 const struct student *st, int64_t now_ms,
                                 struct policy_decision *d)
{
    const char *zone, *hours;

    d->until = 0;
    d->why[0] = 0;
    if (s->kind != STEP_SEND) /* staff messages: the lead must be open */
        return leads_closed(cfg, st, d->why, sizeof d->why)
                   ? decide(d, POLICY_END, "closed_lead")
                   : decide(d, POLICY_SEND, "");
    zone = delivery_zone(cfg, st);
    if (cls == MSG_MARKETING &&
        (d->until = blackout_until(cfg, zone, now_ms))) {
        snprintf(d->why, sizeof d->why, "a blackout date for marketing in %s",
                 zone);
        return decide(d, POLICY_DEFER, "blackout");
    }
    hours = cls == MSG_SERVICE ? cfg->delivery.quiet_hours_service
                               : cfg->delivery.quiet_hours;
    if ((d->until = quiet_until(hours, zone, now_ms))) {
        snprintf(d->why, sizeof d->why, "quiet hours %s in %s", hours, zone);
        return decide(d, POLICY_DEFER, "quiet_hours");
    }
    if (student_opted_out(st, type)) {
        snprintf(d->why, sizeof d->why, "the student opted out of %s", type);
        return decide(d, POLICY_SKIP, "optout");
    }
    return decide(d, POLICY_SEND, "");
}
