/*
 * test_policy.c - the sending policy of a message step (rules/policy.h):
 * the one answer the daemon and `nudgectl simulate` both use. Fixed
 * instants in Asia/Shanghai (UTC+8), quiet hours 21:00-08:00.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/worktime.h"
#include "rules/policy.h"
#include "tests/support/check_run.h"

#define NIGHT_22H 1796133600000LL   /* 2026-12-01 22:00 +08 */
#define MORNING_8H 1796169600000LL  /* 2026-12-02 08:00 +08 */
#define NOON_12H 1796097600000LL    /* 2026-12-01 12:00 +08 */
#define AFTER_BLACKOUT 1796256000000LL /* 2026-12-03 08:00 +08 */
#define EVENING_2130 1796131800000LL /* 2026-12-01 21:30 +08 */
#define NIGHT_2230 1796135400000LL   /* 2026-12-01 22:30 +08 */
#define MORNING_7H 1796166000000LL   /* 2026-12-02 07:00 +08 */

static const struct {
    enum step_kind kind;
    enum msg_class cls;
    const char *type;    /* the channel's */
    const char *stage;   /* the student's */
    const char *optout;  /* in the student's optout set, or NULL */
    long long now;
    enum policy_verdict want;
    long long until;
    const char *why;
} cases[] = {
    /* a student's message at noon: it goes */
    {STEP_SEND, MSG_MARKETING, "sms", "lead", NULL, NOON_12H, POLICY_SEND, 0, ""},
    /* at night: it waits for 08:00 in the student's zone */
    {STEP_SEND, MSG_MARKETING, "sms", "lead", NULL, NIGHT_22H, POLICY_DEFER, MORNING_8H,
     "quiet hours 21:00-08:00 in Asia/Shanghai"},
    /* opted out of that channel: skipped; of another: it goes */
    {STEP_SEND, MSG_MARKETING, "sms", "lead", "sms", NOON_12H, POLICY_SKIP, 0,
     "the student opted out of sms"},
    {STEP_SEND, MSG_MARKETING, "sms", "lead", "email", NOON_12H, POLICY_SEND, 0, ""},
    {STEP_SEND, MSG_MARKETING, "email", "lead", "all", NOON_12H, POLICY_SKIP, 0,
     "the student opted out of email"},
    /* quiet hours are asked first: the step waits, then is skipped */
    {STEP_SEND, MSG_MARKETING, "sms", "lead", "sms", NIGHT_22H, POLICY_DEFER, MORNING_8H,
     "quiet hours 21:00-08:00 in Asia/Shanghai"},
    /* staff messages: not kept by the student's quiet hours or opt-out,
     * but a closed lead ends the run */
    {STEP_NOTIFY, MSG_STAFF, "wecom", "lead", "all", NIGHT_22H, POLICY_SEND, 0, ""},
    {STEP_ESCALATE, MSG_STAFF, "wecom", "enrolled", NULL, NOON_12H, POLICY_END, 0,
     "the lead is closed: stage enrolled is past the lead stages (lead "
     "contacted)"},
    /* a blackout date (2026-12-01, and 12-02 right after it): marketing
     * waits for the morning after both, at the quiet hours' end */
    {STEP_SEND, MSG_MARKETING, "sms", "lead", NULL, NOON_12H, POLICY_DEFER,
     AFTER_BLACKOUT, "a blackout date for marketing in Asia/Shanghai"},
    /* a service message keeps its own quiet hours, 22:00-07:00: it goes
     * at 21:30 when marketing waits, and waits at 22:30 until 07:00 */
    {STEP_SEND, MSG_SERVICE, "sms", "lead", NULL, EVENING_2130, POLICY_SEND,
     0, ""},
    {STEP_SEND, MSG_MARKETING, "sms", "lead", NULL, EVENING_2130,
     POLICY_DEFER, MORNING_8H, "quiet hours 21:00-08:00 in Asia/Shanghai"},
    {STEP_SEND, MSG_SERVICE, "sms", "lead", NULL, NIGHT_2230, POLICY_DEFER,
     MORNING_7H, "quiet hours 22:00-07:00 in Asia/Shanghai"},
    /* a service message is not held by a blackout date */
    {STEP_SEND, MSG_SERVICE, "sms", "lead", NULL, NOON_12H, POLICY_SEND, 0,
     ""},
};

START_TEST(test_policy_check)
{
    struct config cfg;
    struct step s = {0};
    struct student *st = student_new("42");
    struct policy_decision d;

    ck_assert_int_eq(config_defaults(&cfg), 0);
    free(cfg.delivery.quiet_hours);
    cfg.delivery.quiet_hours = strdup("21:00-08:00");
    free(cfg.leads.open_stages);
    cfg.leads.open_stages = strdup("lead contacted");
    if (cases[_i].until == AFTER_BLACKOUT || cases[_i].cls == MSG_SERVICE) {
        free(cfg.delivery.blackout);
        cfg.delivery.blackout = strdup("2026-06-07..2026-06-10, 2026-12-01 "
                                       "2026-12-02");
    }
    ck_assert_int_eq(attrs_set(&st->attrs, "stage", cases[_i].stage), 0);
    ck_assert_int_eq(attrs_set(&st->attrs, "tz", "Asia/Shanghai"), 0);
    if (cases[_i].optout)
        ck_assert_int_eq(strset_add(&st->optouts, cases[_i].optout), 0);
    student_seal(st);
    s.kind = cases[_i].kind;
    ck_assert_int_eq(policy_check(&cfg, &s, cases[_i].cls, cases[_i].type,
                                  st, cases[_i].now, &d),
                     cases[_i].want);
    ck_assert_int_eq(d.verdict, cases[_i].want);
    ck_assert_str_eq(d.why, cases[_i].why);
    if (cases[_i].want == POLICY_DEFER)
        ck_assert_int_eq(d.until, cases[_i].until);
    student_free(st);
    config_free(&cfg);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("policy", &tc);

    tcase_add_loop_test(tc, test_policy_check, 0,
                        sizeof cases / sizeof cases[0]);
    return check_run(s);
}

