/*
 * test_tz.c - time zones (core/tz.h, core/tz_rule.h) and the student's
 * zone and quiet hours of rules/delivery.h: footer rules read alone,
 * quiet hours 21:00-08:00 at their edges on the nights of New York's 2026
 * daylight-saving changes and in Shanghai (injected clock: the instant a
 * deferred send resumes is 08:00 local exactly), an unknown student `tz`
 * (the configured zone, counted once), and the zone cache under garbage,
 * eviction and threads. The offsets of every zone are cross-checked
 * against Python's zoneinfo in tests/integration/test_tz.py.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/metrics.h"
#include "core/student.h"
#include "core/tz.h"
#include "core/tz_rule.h"
#include "rules/delivery.h"
#include "tests/support/check_run.h"

#define H 3600L

/* "YYYY-MM-DD HH:MM" (UTC) as ms. */
static int64_t utc(const char *s)
{
    struct tm tm = {0};

    ck_assert_ptr_nonnull(strptime(s, "%Y-%m-%d %H:%M", &tm));
    return (int64_t)timegm(&tm) * 1000;
}

/* --- footer rules ------------------------------------------------------- */

START_TEST(test_rule_parse)
{
    struct tz_rule r;

    ck_assert_int_eq(tz_rule_parse("EST5EDT,M3.2.0,M11.1.0", &r), 0);
    ck_assert_int_eq(r.std_off, -5 * H);
    ck_assert_int_eq(r.dst_off, -4 * H);
    ck_assert_int_eq(tz_rule_parse("<+08>-8", &r), 0);
    ck_assert_int_eq(r.std_off, 8 * H);
    ck_assert_int_eq(r.has_dst, 0);
    ck_assert_int_eq(tz_rule_parse("<+0545>-5:45", &r), 0);
    ck_assert_int_eq(r.std_off, 5 * H + 45 * 60);
    /* Greenland's -1 and 25-hour times (RFC 8536 extensions) */
    ck_assert_int_eq(tz_rule_parse("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", &r), 0);
    ck_assert_int_eq(r.start.secs, -H);
    ck_assert_int_eq(tz_rule_parse("EST5EDT,0/0,J365/25", &r), 0);
    ck_assert_int_eq(r.end.secs, 25 * H);
    ck_assert_int_eq(tz_rule_parse("", &r), -1);
    ck_assert_int_eq(tz_rule_parse("EST", &r), -1);
    ck_assert_int_eq(tz_rule_parse("EST5EDT", &r), -1);
    ck_assert_int_eq(tz_rule_parse("EST5EDT,M13.1.0,M11.1.0", &r), -1);
    ck_assert_int_eq(tz_rule_parse("EST5EDT,M3.2.0,M11.1.0x", &r), -1);
}
END_TEST

static const struct {
    const char *rule, *at; /* at: UTC */
    long off;
} rule_cases[] = {
    /* New York, 2041 (past every table): 8 March 07:00Z, 1 November 06:00Z */
    {"EST5EDT,M3.2.0,M11.1.0", "2041-03-10 06:59", -5 * H},
    {"EST5EDT,M3.2.0,M11.1.0", "2041-03-10 07:00", -4 * H},
    {"EST5EDT,M3.2.0,M11.1.0", "2041-11-03 05:59", -4 * H},
    {"EST5EDT,M3.2.0,M11.1.0", "2041-11-03 06:00", -5 * H},
    /* Sydney: southern summer across the new year */
    {"AEST-10AEDT,M10.1.0,M4.1.0/3", "2041-01-15 00:00", 11 * H},
    {"AEST-10AEDT,M10.1.0,M4.1.0/3", "2041-04-06 15:59", 11 * H},
    {"AEST-10AEDT,M10.1.0,M4.1.0/3", "2041-04-06 16:00", 10 * H},
    {"AEST-10AEDT,M10.1.0,M4.1.0/3", "2041-10-05 15:59", 10 * H},
    {"AEST-10AEDT,M10.1.0,M4.1.0/3", "2041-10-05 16:00", 11 * H},
    {"AEST-10AEDT,M10.1.0,M4.1.0/3", "2041-12-31 23:59", 11 * H},
    /* a fifth ("last") Sunday, and Jn days (no 29 February) in a leap year */
    {"GMT0BST,M3.5.0/1,M10.5.0", "2044-03-27 00:59", 0},
    {"GMT0BST,M3.5.0/1,M10.5.0", "2044-03-27 01:00", H},
    {"XXX0YYY,J60/0,J300/0", "2044-02-29 12:00", 0},
    {"XXX0YYY,J60/0,J300/0", "2044-03-01 00:00", H},
    {"XXX0YYY,59/0,300/0", "2044-02-29 00:00", H},
};

START_TEST(test_rule_offset)
{
    struct tz_rule r;

    ck_assert_int_eq(tz_rule_parse(rule_cases[_i].rule, &r), 0);
    ck_assert_int_eq(tz_rule_offset(&r, utc(rule_cases[_i].at) / 1000),
                     rule_cases[_i].off);
}
END_TEST

/* --- quiet hours with an injected clock ------------------------------ */

static int64_t fake_now;
static int64_t fake_clock(void)
{
    return fake_now;
}

static const struct {
    const char *zone, *now; /* now: UTC; the local time in the comment */
    const char *until;      /* UTC; "" when not quiet */
} quiet_cases[] = {
    /* New York, the night of the spring change (8 March 2026, 02:00 EST
     * becomes 03:00 EDT): resumes 08:00 EDT = 12:00Z, not 13:00Z */
    {"America/New_York", "2026-03-08 01:59", ""},                 /* 20:59 EST */
    {"America/New_York", "2026-03-08 02:00", "2026-03-08 12:00"}, /* 21:00 EST */
    {"America/New_York", "2026-03-08 06:59", "2026-03-08 12:00"}, /* 01:59 EST */
    {"America/New_York", "2026-03-08 07:00", "2026-03-08 12:00"}, /* 03:00 EDT */
    {"America/New_York", "2026-03-08 11:59", "2026-03-08 12:00"}, /* 07:59 EDT */
    {"America/New_York", "2026-03-08 12:00", ""},                 /* 08:00 EDT */
    /* and the night after it, all in EDT */
    {"America/New_York", "2026-03-09 00:59", ""},                 /* 20:59 EDT */
    {"America/New_York", "2026-03-09 01:00", "2026-03-09 12:00"}, /* 21:00 EDT */
    /* the autumn change (1 November 2026, 02:00 EDT becomes 01:00 EST):
     * resumes 08:00 EST = 13:00Z, not 12:00Z (07:00 EST, quiet again) */
    {"America/New_York", "2026-11-01 00:59", ""},                 /* 20:59 EDT */
    {"America/New_York", "2026-11-01 01:00", "2026-11-01 13:00"}, /* 21:00 EDT */
    {"America/New_York", "2026-11-01 05:30", "2026-11-01 13:00"}, /* 01:30 EDT */
    {"America/New_York", "2026-11-01 06:30", "2026-11-01 13:00"}, /* 01:30 EST */
    {"America/New_York", "2026-11-01 12:00", "2026-11-01 13:00"}, /* 07:00 EST */
    {"America/New_York", "2026-11-01 12:59", "2026-11-01 13:00"}, /* 07:59 EST */
    {"America/New_York", "2026-11-01 13:00", ""},                 /* 08:00 EST */
    /* the night before it, all in EDT */
    {"America/New_York", "2026-10-31 01:00", "2026-10-31 12:00"}, /* 21:00 EDT */
    {"America/New_York", "2026-10-31 11:59", "2026-10-31 12:00"}, /* 07:59 EDT */
    /* Shanghai (UTC+8, no changes) */
    {"Asia/Shanghai", "2026-11-22 12:59", ""},                 /* 20:59 */
    {"Asia/Shanghai", "2026-11-22 13:00", "2026-11-23 00:00"}, /* 21:00 */
    {"Asia/Shanghai", "2026-11-22 23:59", "2026-11-23 00:00"}, /* 07:59 */
    {"Asia/Shanghai", "2026-11-23 00:00", ""},                 /* 08:00 */
};

START_TEST(test_quiet_edges)
{
    struct config cfg = {0};
    struct student *st = student_new("s1");
    int64_t until;

    cfg.delivery.timezone = "Asia/Shanghai";
    attrs_set(&st->attrs, "tz", quiet_cases[_i].zone);
    student_seal(st);
    fake_now = utc(quiet_cases[_i].now);
    clock_inject(fake_clock);
    /* as rules/send.c asks */
    until = quiet_until("21:00-08:00", delivery_zone(&cfg, st), clock_now_ms());
    clock_inject(NULL);
    if (!quiet_cases[_i].until[0]) {
        ck_assert_int_eq(until, 0);
    } else {
        ck_assert_int_eq(until, utc(quiet_cases[_i].until));
        /* 08:00 local exactly, and no longer quiet then */
        ck_assert_int_eq(tz_to_local(quiet_cases[_i].zone, until) % 86400000,
                         8 * 3600000);
        ck_assert_int_eq(quiet_until("21:00-08:00", quiet_cases[_i].zone, until),
                         0);
    }
    student_free(st);
}
END_TEST

/* --- an unknown student zone ------------------------------------------- */

static struct metric *unknown_metric(void)
{
    return metric_counter("nudge_unknown_timezones_total",
                          "Distinct unknown student tz values seen (each "
                          "replaced by [delivery] timezone)",
                          NULL);
}

static struct student *with_tz(const char *id, const char *tz)
{
    struct student *st = student_new(id);
    if (tz)
        attrs_set(&st->attrs, "tz", tz);
    student_seal(st);
    return st;
}

START_TEST(test_unknown_zone)
{
    struct config cfg = {0};
    struct student *mars = with_tz("s1", "Mars/Olympus");
    struct student *mars2 = with_tz("s2", "Mars/Olympus");
    struct student *none = with_tz("s3", NULL);
    struct student *ny = with_tz("s4", "America/New_York");
    int64_t before = metric_value(unknown_metric());
    int64_t now = utc("2026-11-22 16:20"); /* 00:20 in Shanghai */

    cfg.delivery.timezone = "Asia/Shanghai";
    /* not UTC: the configured zone, so quiet until 08:00 Shanghai */
    ck_assert_str_eq(delivery_zone(&cfg, mars), "Asia/Shanghai");
    ck_assert_int_eq(quiet_until("21:00-08:00", delivery_zone(&cfg, mars), now),
                     utc("2026-11-23 00:00"));
    ck_assert_str_eq(delivery_zone(&cfg, mars2), "Asia/Shanghai");
    ck_assert_str_eq(delivery_zone(&cfg, none), "Asia/Shanghai");
    ck_assert_str_eq(delivery_zone(&cfg, ny), "America/New_York");
    /* counted once per name, not per lookup */
    ck_assert_int_eq(metric_value(unknown_metric()) - before, 1);
    ck_assert_int_eq(tz_known("Mars/Olympus"), 0);
    ck_assert_int_eq(tz_known("America"), 0);      /* a directory */
    ck_assert_int_eq(tz_known("zone1970.tab"), 0); /* not TZif */
    ck_assert_int_eq(tz_known("../../../etc/passwd"), 0);
    ck_assert_int_eq(tz_known(""), 0);
    student_free(mars);
    student_free(mars2);
    student_free(none);
    student_free(ny);
}
END_TEST

/* --- the cache ------------------------------------------------------------ */

static const char *const zones[] = {
    "Asia/Shanghai", "America/New_York", "Europe/London", "Australia/Sydney",
    "Asia/Kolkata", "America/Sao_Paulo", "Africa/Cairo", "Pacific/Auckland",
};
#define NZONES (sizeof zones / sizeof zones[0])

static long want_off(size_t i)
{ /* at 2026-01-15 00:00Z */
    static const long off[] = {8 * H, -5 * H, 0,     11 * H,
                               5 * H + 1800, -3 * H, 2 * H, 13 * H};
    return off[i];
}

START_TEST(test_cache_garbage_and_eviction)
{
    int64_t t = utc("2026-01-15 00:00");
    char name[32];
    long off;

    /* far more garbage names than the cache holds: none is cached */
    for (int i = 0; i < 3 * TZ_CACHE; i++) {
        snprintf(name, sizeof name, "Garbage/%d", i);
        ck_assert_int_eq(tz_lookup(name, t, &off), -1);
    }
    for (size_t i = 0; i < NZONES; i++)
        ck_assert_int_eq(tz_offset(zones[i], t), want_off(i));
    /* more real zones than the cache holds (Etc/GMT+N is -N hours),
     * twice over: evicted zones are read again, right */
    for (int round = 0; round < 2; round++) {
        for (int n = -12; n <= 12; n++)
            for (int k = 0; k < 6; k++) {
                snprintf(name, sizeof name, "Etc/GMT%+d", n);
                ck_assert_int_eq(tz_offset(name, t), -n * H);
                ck_assert_int_eq(tz_offset(zones[k % NZONES], t),
                                 want_off(k % NZONES));
            }
        for (int i = 0; i < TZ_CACHE + 10; i++) {
            snprintf(name, sizeof name, "posix/Etc/GMT%+d", i % 25 - 12);
            ck_assert_int_eq(tz_offset(name, t), -(i % 25 - 12) * H);
        }
    }
}
END_TEST

static void *lookups(void *arg)
{
    int64_t t = utc("2026-01-15 00:00");
    size_t start = (size_t)arg;
    long bad = 0;

    for (int i = 0; i < 2000; i++) {
        size_t k = (start + (size_t)i) % NZONES;
        char name[32];
        bad += tz_offset(zones[k], t) != want_off(k);
        snprintf(name, sizeof name, "Etc/GMT%+d", i % 25 - 12);
        bad += tz_offset(name, t) != -(i % 25 - 12) * H;
    }
    return (void *)bad;
}

START_TEST(test_cache_threads)
{
    pthread_t th[4];
    void *bad;

    for (size_t i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, lookups, (void *)i);
    for (size_t i = 0; i < 4; i++) {
        pthread_join(th[i], &bad);
        ck_assert_ptr_null(bad);
    }
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("tz", &tc);

    tcase_add_test(tc, test_rule_parse);
    tcase_add_loop_test(tc, test_rule_offset, 0,
                        sizeof rule_cases / sizeof rule_cases[0]);
    tcase_add_loop_test(tc, test_quiet_edges, 0,
                        sizeof quiet_cases / sizeof quiet_cases[0]);
    tcase_add_test(tc, test_unknown_zone);
    tcase_add_test(tc, test_cache_garbage_and_eviction);
    tcase_add_test(tc, test_cache_threads);
    return check_run(s);
}
