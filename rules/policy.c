/*
 * policy.c - the sending policy of a message step (see policy.h).
 */
#include "rules/policy.h"

#include <stdio.h>

#include "rules/delivery.h"
#include "rules/leads.h"

static enum policy_verdict decide(struct policy_decision *d,
                                  enum policy_verdict v)
{
    d->verdict = v;
    return v;
}

enum policy_verdict policy_check(const struct config *cfg, const struct step *s,
                                 const char *type, const struct student *st,
                                 int64_t now_ms, struct policy_decision *d)
{
    const char *zone;

    d->until = 0;
    d->why[0] = 0;
    if (s->kind != STEP_SEND) /* staff messages: the lead must be open */
        return decide(d, leads_closed(cfg, st, d->why, sizeof d->why)
                             ? POLICY_END
                             : POLICY_SEND);
    zone = delivery_zone(cfg, st);
    if ((d->until = quiet_until(cfg->delivery.quiet_hours, zone, now_ms))) {
        snprintf(d->why, sizeof d->why, "quiet hours %s in %s",
                 cfg->delivery.quiet_hours, zone);
        return decide(d, POLICY_DEFER);
    }
    if (student_opted_out(st, type)) {
        snprintf(d->why, sizeof d->why, "the student opted out of %s", type);
        return decide(d, POLICY_SKIP);
    }
    return decide(d, POLICY_SEND);
}
