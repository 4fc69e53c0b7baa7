/*
 * policy.h - the sending policy a message step passes before anything is
 * claimed or rendered, in one place: the daemon (rules/send.c) and
 * `nudgectl simulate` (cli/cmd_simulate.c) both ask it, so a preview
 * never disagrees with what runs. Pure: the student as read, the config
 * and the instant decide (docs/policy.md).
 *
 *   a closed lead (notify, escalate)   the step is skipped, the run ends
 *   staff hours (notify, escalate,     the step waits until staff may be
 *   Kind: staff)                       messaged: [delivery]
 *                                      quiet_hours_staff, default working
 *                                      = outside [worktime] working time
 *   a blackout date (marketing)        the step waits until the morning
 *                                      after it, in the student's zone
 *   quiet hours (send), student's zone the step waits until they end
 *                                      (marketing: [delivery] quiet_hours,
 *                                      service: quiet_hours_service)
 *   the student opted out (send)       the step is skipped
 *
 * The time windows alone are policy_window(), which the messages that
 * are no rule's step ask too: grouped alerts and the digest
 * (policy_staff_hold()), the opt-out confirmation (service hours).
 *
 * What needs Redis is not here: a pause (core/pause.h) is asked first;
 * the day's cap and dedup are claimed with the send record, in the job's
 * first read (rules/send.c).
 */
#ifndef NUDGE_RULES_POLICY_H
#define NUDGE_RULES_POLICY_H

#include <stdint.h>

#include "core/config.h"
#include "core/msgclass.h"
#include "core/student.h"
#include "rules/ast.h"

enum policy_verdict {
    POLICY_SEND,  /* go on */
    POLICY_DEFER, /* not before until */
    POLICY_SKIP,  /* not this message (why); the run goes on */
    POLICY_END,   /* not this message (why), and the run ends */
};

struct policy_decision {
    enum policy_verdict verdict;
    const char *reason; /* a metric label: closed_lead, blackout,
                           quiet_hours, staff_hours, optout; "" for
                           POLICY_SEND */
    int64_t until; /* POLICY_DEFER: UTC ms */
    const char *zone; /* the zone until is told in: the student's, or
                         [worktime]'s for staff hours (static or cfg's) */
    char why[256]; /* for the timeline and simulate, never personal data */
};

/* What the policy says of step s (a send, notify or escalate) of class
 * cls (run_step_class()) to student st on a channel of type (sms,
 * email, ...) at now_ms. Fills d and returns its verdict. */
enum policy_verdict policy_check(const struct config *cfg, const struct step *s,
                                 enum msg_class cls, const char *type,
                                 const struct student *st, int64_t now_ms,
                                 struct policy_decision *d);

/* When a message of class cls may go at now_ms, the time windows alone
 * (no opt-out, no lead): POLICY_DEFER with until and why inside the
 * class's quiet hours (marketing, service: in st's zone, st NULL:
 * [delivery] timezone; staff: quiet_hours_staff in [worktime]'s zone),
 * else POLICY_SEND. Fills d. */
enum policy_verdict policy_window(const struct config *cfg, enum msg_class cls,
                                  const struct student *st, int64_t now_ms,
                                  struct policy_decision *d);

/* d->until as local "YYYY-MM-DD HH:MM" in d->zone, for the `deferred`
 * entry's "until ...". Returns buf. */
char *policy_until_text(const struct policy_decision *d, char *buf, size_t n);

/* For a staff message that is no rule's step (a grouped alert, the
 * digest: what names it in the log, "alert of staff 7"): 0 when it may
 * go at now_ms; else how long to wait (ms) for the staff window to end,
 * counted (deferred, staff_hours, staff) and logged at info. */
int64_t policy_staff_hold(const struct config *cfg, int64_t now_ms,
                          const char *what);

/* Counts a message the policy held back (nudge_policy_total, by verdict:
 * deferred or skipped, reason and class). The send path's own holds
 * (daily_cap, dedup) are counted here too. */
void policy_count(enum policy_verdict v, const char *reason,
                  enum msg_class cls);

#endif
