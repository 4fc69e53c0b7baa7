/*
 * test_policy.c - the sending policy of a message step (rules/policy.h):
 * the one answer the daemon and `nudgectl simulate` both use. Fixed
 * instants in Asia/Shanghai (UTC+8), quiet hours 21:00-08:00; staff
 * hours ([delivery] quiet_hours_staff) against the default working time
 * and the shipped 2026 calendar.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/diag.h"
#include "core/tz.h"
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
    /* staff messages (staff hours off: [delivery] quiet_hours_staff =
     * "" in this table): not kept by the student's quiet hours or
     * opt-out, but a closed lead ends the run */
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
    free(cfg.delivery.quiet_hours_staff); /* staff_cases below */
    cfg.delivery.quiet_hours_staff = strdup("");
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

/* --- staff hours ------------------------------------------------------- */

/* The UTC instant of a wall-clock time in Shanghai. */
static int64_t sh(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi};
    return tz_from_local("Asia/Shanghai", (int64_t)timegm(&tm) * 1000);
}

#define WORKING_WHY                                                            \
    "staff hours: outside working time (mon-fri 09:00-18:00 in "              \
    "Asia/Shanghai)"

/* A staff message under [delivery] quiet_hours_staff (NULL: the default,
 * working) and the default [worktime] (mon-fri 09:00-18:00, the zone
 * [delivery] timezone, Asia/Shanghai), with the 2026 calendar or not.
 * Times are local, Shanghai; want[0] == 0: it goes. */
static const struct {
    enum step_kind kind;
    const char *hours;
    int calendar;
    const char *stage;
    int at[5];
    enum policy_verdict verdict;
    int until[5];
    const char *why;
} staff_cases[] = {
    /* 03:00 on a tuesday: a notice waits for 09:00 */
    {STEP_NOTIFY, NULL, 1, "lead", {2026, 12, 1, 3, 0}, POLICY_DEFER,
     {2026, 12, 1, 9, 0}, WORKING_WHY},
    /* an escalation too */
    {STEP_ESCALATE, NULL, 1, "lead", {2026, 12, 1, 3, 0}, POLICY_DEFER,
     {2026, 12, 1, 9, 0}, WORKING_WHY},
    /* 10:00 on a tuesday: it goes */
    {STEP_NOTIFY, NULL, 1, "lead", {2026, 12, 1, 10, 0}, POLICY_SEND, {0},
     ""},
    /* 18:00: closed, until 09:00 the next day */
    {STEP_NOTIFY, NULL, 1, "lead", {2026, 12, 1, 18, 0}, POLICY_DEFER,
     {2026, 12, 2, 9, 0}, WORKING_WHY},
    /* saturday 03:00: monday 09:00 */
    {STEP_NOTIFY, NULL, 1, "lead", {2026, 11, 28, 3, 0}, POLICY_DEFER,
     {2026, 11, 30, 9, 0}, WORKING_WHY},
    /* a calendar holiday (National Day, a thursday) is skipped ... */
    {STEP_NOTIFY, NULL, 1, "lead", {2026, 10, 1, 10, 0}, POLICY_DEFER,
     {2026, 10, 8, 9, 0}, WORKING_WHY},
    /* ... and without the calendar it is a working thursday */
    {STEP_NOTIFY, NULL, 0, "lead", {2026, 10, 1, 10, 0}, POLICY_SEND, {0},
     ""},
    /* a closed lead ends the run first, whatever the hour */
    {STEP_ESCALATE, NULL, 1, "enrolled", {2026, 12, 1, 3, 0}, POLICY_END,
     {0},
     "the lead is closed: stage enrolled is past the lead stages (lead "
     "contacted)"},
    /* a `send` of a Kind: staff template keeps staff hours too */
    {STEP_SEND, NULL, 1, "lead", {2026, 12, 1, 3, 0}, POLICY_DEFER,
     {2026, 12, 1, 9, 0}, WORKING_WHY},
    /* an explicit window: quiet 20:00-08:00, in [worktime]'s zone */
    {STEP_NOTIFY, "20:00-08:00", 1, "lead", {2026, 12, 1, 3, 0},
     POLICY_DEFER, {2026, 12, 1, 8, 0},
     "staff hours 20:00-08:00 in Asia/Shanghai"},
    {STEP_NOTIFY, "20:00-08:00", 1, "lead", {2026, 11, 28, 10, 0},
     POLICY_SEND, {0}, ""},
    {STEP_NOTIFY, "20:00-08:00", 1, "lead", {2026, 12, 1, 20, 0},
     POLICY_DEFER, {2026, 12, 2, 8, 0},
     "staff hours 20:00-08:00 in Asia/Shanghai"},
    /* empty: never quiet */
    {STEP_NOTIFY, "", 1, "lead", {2026, 11, 28, 3, 0}, POLICY_SEND, {0},
     ""},
};

#define NSTAFF (sizeof staff_cases / sizeof staff_cases[0])

static void staff_config(struct config *cfg, int i)
{
    struct diag dg = {0};

    ck_assert_int_eq(config_defaults(cfg), 0);
    free(cfg->leads.open_stages);
    cfg->leads.open_stages = strdup("lead contacted");
    if (staff_cases[i].hours) {
        free(cfg->delivery.quiet_hours_staff);
        cfg->delivery.quiet_hours_staff = strdup(staff_cases[i].hours);
    }
    if (staff_cases[i].calendar)
        ck_assert_int_eq(worktime_load_calendar(&cfg->worktime,
                                                "etc/calendars/cn-2026.cal",
                                                &dg),
                         0);
    diag_clear(&dg);
}

static int64_t sh5(const int t[5])
{
    return t[0] ? sh(t[0], t[1], t[2], t[3], t[4]) : 0;
}

START_TEST(test_staff_hours)
{
    struct config cfg;
    struct step s = {0};
    struct student *st = student_new("42");
    struct policy_decision d;
    /* the student's own zone is not the school's: staff hours are the
     * school's */
    ck_assert_int_eq(attrs_set(&st->attrs, "tz", "America/New_York"), 0);
    ck_assert_int_eq(attrs_set(&st->attrs, "stage", staff_cases[_i].stage),
                     0);
    student_seal(st);
    staff_config(&cfg, _i);
    s.kind = staff_cases[_i].kind;
    ck_assert_int_eq(policy_check(&cfg, &s, MSG_STAFF, "wecom", st,
                                  sh5(staff_cases[_i].at), &d),
                     staff_cases[_i].verdict);
    ck_assert_str_eq(d.why, staff_cases[_i].why);
    ck_assert_int_eq(d.until, sh5(staff_cases[_i].until));
    if (d.verdict == POLICY_DEFER) {
        ck_assert_str_eq(d.reason, "staff_hours");
        ck_assert_str_eq(d.zone, "Asia/Shanghai");
    }
    student_free(st);
    config_free(&cfg);
}
END_TEST

/* Alerts and the digest ask policy_staff_hold(): how long to wait, the
 * same window as the steps'. */
/* [delivery] blackout_service: a service message waits for the morning
 * after its own blackout dates, at the end of its quiet hours (07:00);
 * marketing keeps to its own list. */
START_TEST(test_blackout_service)
{
    struct config cfg;
    struct step s = {.kind = STEP_SEND};
    struct student *st = student_new("42");
    struct policy_decision d;

    ck_assert_int_eq(config_defaults(&cfg), 0);
    free(cfg.delivery.blackout_service);
    cfg.delivery.blackout_service = strdup("2026-12-01");
    ck_assert_int_eq(attrs_set(&st->attrs, "tz", "Asia/Shanghai"), 0);
    student_seal(st);
    ck_assert_int_eq(policy_check(&cfg, &s, MSG_SERVICE, "sms", st, NOON_12H,
                                  &d),
                     POLICY_DEFER);
    ck_assert_int_eq(d.until, MORNING_7H);
    ck_assert_str_eq(d.why, "a blackout date for service in Asia/Shanghai");
    ck_assert_int_eq(policy_check(&cfg, &s, MSG_MARKETING, "sms", st,
                                  NOON_12H, &d),
                     POLICY_SEND);
    student_free(st);
    config_free(&cfg);
}
END_TEST

START_TEST(test_staff_hold)
{
    struct config cfg;

    staff_config(&cfg, 0); /* working, the calendar */
    ck_assert_int_eq(policy_staff_hold(&cfg, sh(2026, 12, 1, 3, 0), "test"),
                     6LL * 3600 * 1000);
    ck_assert_int_eq(
        policy_staff_hold(&cfg, sh(2026, 11, 28, 3, 0) + 1500, "test"),
        sh(2026, 11, 30, 9, 0) - sh(2026, 11, 28, 3, 0) - 1500);
    ck_assert_int_eq(policy_staff_hold(&cfg, sh(2026, 12, 1, 10, 0), "test"),
                     0);
    free(cfg.delivery.quiet_hours_staff);
    cfg.delivery.quiet_hours_staff = strdup("");
    ck_assert_int_eq(policy_staff_hold(&cfg, sh(2026, 12, 1, 3, 0), "test"),
                     0);
    config_free(&cfg);
}
END_TEST

/* Windows by class, for messages that are no step: the opt-out
 * confirmation is service, in the student's zone (the default zone
 * without a student). */
START_TEST(test_window_service)
{
    struct config cfg;
    struct policy_decision d;

    ck_assert_int_eq(config_defaults(&cfg), 0);
    ck_assert_int_eq(policy_window(&cfg, MSG_SERVICE, NULL, NIGHT_2230, &d),
                     POLICY_DEFER);
    ck_assert_int_eq(d.until, MORNING_7H);
    ck_assert_str_eq(d.reason, "quiet_hours");
    ck_assert_str_eq(d.why, "quiet hours 22:00-07:00 in Asia/Shanghai");
    ck_assert_int_eq(policy_window(&cfg, MSG_SERVICE, NULL, EVENING_2130, &d),
                     POLICY_SEND);
    config_free(&cfg);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("policy", &tc);

    tcase_add_loop_test(tc, test_policy_check, 0,
                        sizeof cases / sizeof cases[0]);
    tcase_add_loop_test(tc, test_staff_hours, 0, NSTAFF);
    tcase_add_test(tc, test_staff_hold);
    tcase_add_test(tc, test_blackout_service);
    tcase_add_test(tc, test_window_service);
    return check_run(s);
}

