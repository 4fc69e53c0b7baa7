/*
 * test_caps.c - which frequency caps a message counts against
 * (rules/caps.h): their counters, limits, and when each one's local day
 * or week ends, in the student's zone and across a daylight-saving
 * change. The Redis side is tests/integration/test_policy_caps.py.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "rules/caps.h"
#include "tests/support/check_run.h"

#define WED_NOON_SH 1796184000000LL  /* 2026-12-02 12:00 +08, a Wednesday */
#define THU_0H_SH 1796227200000LL    /* 2026-12-03 00:00 +08 */
#define MON_0H_SH 1796572800000LL    /* 2026-12-07 00:00 +08 */
#define SUN_2330_SH 1796571000000LL  /* 2026-12-06 23:30 +08 */
#define WED_NOON_NY 1804698000000LL  /* 2027-03-10 12:00 EST */
#define THU_0H_NY 1804741200000LL    /* 2027-03-11 00:00 EST */
#define MON_0H_NY 1805083200000LL    /* 2027-03-15 00:00 EDT (after the
                                        change of Sunday 14 March) */

static struct config cfg;
static struct channel sms = {.name = "sms", .max_per_day = 1};

static void setup(void)
{
    ck_assert_int_eq(config_defaults(&cfg), 0);
    cfg.delivery.max_per_day = 3;
    cfg.delivery.max_per_week = 10;
    cfg.delivery.class_max[MSG_MARKETING].week = 5;
}

static void teardown(void)
{
    config_free(&cfg);
}

START_TEST(test_every_scope_and_window)
{
    struct cap_set set;

    caps_for(&set, &cfg, "42", "Asia/Shanghai", MSG_MARKETING, &sms,
             WED_NOON_SH);
    ck_assert_uint_eq(set.n, 4);
    /* every class, the day: the counter's name of old */
    ck_assert_str_eq(set.v[0].key, "slm:student:{42}:sent:2026-12-02");
    ck_assert_int_eq(set.v[0].limit, 3);
    ck_assert_int_eq(set.v[0].week, 0);
    ck_assert_int_eq(set.v[0].ends, THU_0H_SH);
    /* the week from Monday 30 November */
    ck_assert_str_eq(set.v[1].key, "slm:student:{42}:sent:w2026-11-30");
    ck_assert_int_eq(set.v[1].limit, 10);
    ck_assert_int_eq(set.v[1].ends, MON_0H_SH);
    ck_assert_str_eq(set.v[2].key,
                     "slm:student:{42}:sent:marketing:w2026-11-30");
    ck_assert_int_eq(set.v[2].limit, 5);
    ck_assert_str_eq(set.v[3].key,
                     "slm:student:{42}:sent:channel:sms:2026-12-02");
    ck_assert_int_eq(set.v[3].limit, 1);
}
END_TEST

START_TEST(test_service_has_not_marketings_cap)
{
    struct cap_set set;

    caps_for(&set, &cfg, "42", "Asia/Shanghai", MSG_SERVICE, NULL,
             WED_NOON_SH);
    ck_assert_uint_eq(set.n, 2); /* every class's day and week only */
    ck_assert_ptr_null(strstr(set.v[0].key, "marketing"));
    ck_assert_ptr_null(strstr(set.v[1].key, "marketing"));
}
END_TEST

START_TEST(test_staff_messages_have_none)
{
    struct cap_set set;

    caps_for(&set, &cfg, "42", "Asia/Shanghai", MSG_STAFF, &sms,
             WED_NOON_SH);
    ck_assert_uint_eq(set.n, 0);
}
END_TEST

START_TEST(test_week_turns_at_local_monday)
{
    struct cap_set sun, mon;

    caps_for(&sun, &cfg, "42", "Asia/Shanghai", MSG_SERVICE, NULL,
             SUN_2330_SH);
    caps_for(&mon, &cfg, "42", "Asia/Shanghai", MSG_SERVICE, NULL,
             MON_0H_SH);
    ck_assert_str_eq(sun.v[1].key, "slm:student:{42}:sent:w2026-11-30");
    ck_assert_int_eq(sun.v[1].ends, MON_0H_SH);
    ck_assert_str_eq(mon.v[1].key, "slm:student:{42}:sent:w2026-12-07");
    ck_assert_int_eq(caps_same(&sun, &mon), 0);
}
END_TEST

START_TEST(test_new_york_across_the_spring_change)
{
    struct cap_set set;

    caps_for(&set, &cfg, "7", "America/New_York", MSG_SERVICE, NULL,
             WED_NOON_NY);
    ck_assert_str_eq(set.v[0].key, "slm:student:{7}:sent:2027-03-10");
    ck_assert_int_eq(set.v[0].ends, THU_0H_NY);
    /* Monday's midnight in daylight time: an hour earlier in UTC than
     * the week's start offset would say */
    ck_assert_str_eq(set.v[1].key, "slm:student:{7}:sent:w2027-03-08");
    ck_assert_int_eq(set.v[1].ends, MON_0H_NY);
}
END_TEST

START_TEST(test_same_and_reason)
{
    struct cap_set a, b;
    char why[160];

    caps_for(&a, &cfg, "42", "Asia/Shanghai", MSG_MARKETING, &sms,
             WED_NOON_SH);
    caps_for(&b, &cfg, "42", "Asia/Shanghai", MSG_MARKETING, &sms,
             WED_NOON_SH + 3600000);
    ck_assert_int_eq(caps_same(&a, &b), 1);
    caps_for(&b, &cfg, "42", "Asia/Shanghai", MSG_MARKETING, NULL,
             WED_NOON_SH);
    ck_assert_int_eq(caps_same(&a, &b), 0);
    caps_reason(&a.v[2], why, sizeof why);
    ck_assert_str_eq(why, "weekly cap of 5 marketing messages reached");
    caps_reason(&a.v[3], why, sizeof why);
    ck_assert_str_eq(why, "daily cap of 1 sms channel message reached");
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("caps", &tc);

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_every_scope_and_window);
    tcase_add_test(tc, test_service_has_not_marketings_cap);
    tcase_add_test(tc, test_staff_messages_have_none);
    tcase_add_test(tc, test_week_turns_at_local_monday);
    tcase_add_test(tc, test_new_york_across_the_spring_change);
    tcase_add_test(tc, test_same_and_reason);
    return check_run(s);
}
