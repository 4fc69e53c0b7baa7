/*
 * test_worktime.c - working-time arithmetic with fixed instants (the
 * shipped 2026 calendar of mainland China: a weekend, the National Day
 * week, make-up working Saturday and Sunday, the lunch break, holidays,
 * starts outside working hours), the calendar reader's errors
 * (file:line:col), [worktime] config errors, and `wait ... working` in
 * the rule parser.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/diag.h"
#include "core/tz.h"
#include "core/worktime.h"
#include "rules/leads.h"
#include "rules/parser.h"
#include "tests/support/check_run.h"

#define ZONE "Asia/Shanghai"
#define CALENDAR "etc/calendars/cn-2026.cal"

/* The UTC instant of a wall-clock time in Shanghai. */
static int64_t sh(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi};
    return tz_from_local(ZONE, (int64_t)timegm(&tm) * 1000);
}

/* The school of the examples: mon-fri 09:00-18:00, lunch 12:00-13:30
 * (7.5 working hours a day), the 2026 calendar. */
static void school(struct worktime *w, int lunch, int calendar)
{
    struct diag d = {0};

    worktime_init(w, ZONE);
    if (lunch)
        ck_assert_int_eq(worktime_set_lunch(w, 12 * 60, 13 * 60 + 30, NULL, 0),
                         0);
    if (calendar)
        ck_assert_int_eq(worktime_load_calendar(w, CALENDAR, &d), 0);
    ck_assert_int_eq(d.errors, 0);
    diag_clear(&d);
}

#define H(n) ((int64_t)(n)*3600000)
#define M(n) ((int64_t)(n)*60000)

/* Each row: the start (local Shanghai time), the wait (hours part and
 * working days), the school's lunch and calendar on or off, the due
 * time (local). */
static const struct {
    int start[5]; /* y, m, d, h, min */
    int64_t ms;
    long days;
    int lunch, calendar;
    int due[5];
} add_cases[] = {
    /* a weekend: friday 17:00 + 2h lands monday 10:00 */
    {{2026, 11, 27, 17, 0}, H(2), 0, 1, 1, {2026, 11, 30, 10, 0}},
    /* National Day: 2026-09-30 17:00 + 2h skips 10-01..10-07 */
    {{2026, 9, 30, 17, 0}, H(2), 0, 1, 1, {2026, 10, 8, 10, 0}},
    /* a make-up working saturday (2026-10-10) counts */
    {{2026, 10, 9, 17, 0}, H(2), 0, 1, 1, {2026, 10, 10, 10, 0}},
    /* a make-up working sunday (2026-09-20) counts */
    {{2026, 9, 19, 10, 0}, H(1), 0, 1, 1, {2026, 9, 20, 10, 0}},
    /* crossing the lunch break: 11:00 + 2h is 14:30 */
    {{2026, 12, 1, 11, 0}, H(2), 0, 1, 1, {2026, 12, 1, 14, 30}},
    /* crossing 清明节 (04-04..04-06): friday 16:00 + 4h is tuesday 11:00 */
    {{2026, 4, 3, 16, 0}, H(4), 0, 1, 1, {2026, 4, 7, 11, 0}},
    /* crossing 劳动节 (05-01..05-05): thursday 17:00 + 2h is 05-06 10:00 */
    {{2026, 4, 30, 17, 0}, H(2), 0, 1, 1, {2026, 5, 6, 10, 0}},
    /* a deadline at the end of the day is 18:00, not 09:00 next day */
    {{2026, 12, 1, 17, 0}, H(1), 0, 1, 1, {2026, 12, 1, 18, 0}},
    /* a start after hours counts from 09:00 the next working day */
    {{2026, 12, 1, 20, 0}, H(1), 0, 1, 1, {2026, 12, 2, 10, 0}},
    /* a start before hours counts from 09:00 */
    {{2026, 12, 1, 7, 0}, M(30), 0, 1, 1, {2026, 12, 1, 9, 30}},
    /* a start in the lunch break counts from 13:30 */
    {{2026, 12, 1, 12, 30}, M(30), 0, 1, 1, {2026, 12, 1, 14, 0}},
    /* no time at all on a saturday is monday 09:00 */
    {{2026, 11, 28, 11, 0}, 0, 0, 1, 1, {2026, 11, 30, 9, 0}},
    /* 1d working is one working day: tuesday 10:00 to wednesday 10:00 */
    {{2026, 12, 1, 10, 0}, 0, 1, 1, 1, {2026, 12, 2, 10, 0}},
    /* 3d working from friday 09-18 counts the make-up sunday 09-20 */
    {{2026, 9, 18, 10, 0}, 0, 3, 1, 1, {2026, 9, 22, 10, 0}},
    /* 24h working with no lunch: 9h days, monday 09:00 to wednesday 15:00 */
    {{2026, 11, 30, 9, 0}, H(24), 0, 0, 1, {2026, 12, 2, 15, 0}},
    /* without a calendar 2026-10-01 (a thursday) is a working day */
    {{2026, 9, 30, 17, 0}, H(2), 0, 1, 0, {2026, 10, 1, 10, 0}},
    /* docs/rules.md: 09-30 16:00 + 4h is 10-08 11:00 */
    {{2026, 9, 30, 16, 0}, H(4), 0, 1, 1, {2026, 10, 8, 11, 0}},
    /* docs/rules.md: 10-09 17:00 + 4h is the make-up saturday at 12:00 */
    {{2026, 10, 9, 17, 0}, H(4), 0, 1, 1, {2026, 10, 10, 12, 0}},
};

#define NADD (sizeof add_cases / sizeof add_cases[0])

static int64_t sh5(const int t[5])
{
    return sh(t[0], t[1], t[2], t[3], t[4]);
}

START_TEST(test_add)
{
    struct worktime w;
    char got[32], want[32];
    int64_t due;

    school(&w, add_cases[_i].lunch, add_cases[_i].calendar);
    due = worktime_wait_until(&w, sh5(add_cases[_i].start), add_cases[_i].ms,
                              add_cases[_i].days);
    ck_assert_msg(
        due == sh5(add_cases[_i].due), "row %d: got %s, want %s", _i,
        worktime_format(&w, due, got, sizeof got),
        worktime_format(&w, sh5(add_cases[_i].due), want, sizeof want));
    worktime_free(&w);
}
END_TEST

/* worktime_next_open(): when staff may be messaged. Each row: the
 * instant (local), lunch and calendar on or off, the answer (local). */
static const struct {
    int at[5];
    int lunch, calendar;
    int open[5];
} open_cases[] = {
    /* 03:00 on a tuesday waits for 09:00 */
    {{2026, 12, 1, 3, 0}, 0, 1, {2026, 12, 1, 9, 0}},
    /* 10:00 on a tuesday is working time: itself */
    {{2026, 12, 1, 10, 0}, 0, 1, {2026, 12, 1, 10, 0}},
    /* 09:00 is open, 17:59 too, 18:00 is closed */
    {{2026, 12, 1, 9, 0}, 0, 1, {2026, 12, 1, 9, 0}},
    {{2026, 12, 1, 17, 59}, 0, 1, {2026, 12, 1, 17, 59}},
    {{2026, 12, 1, 18, 0}, 0, 1, {2026, 12, 2, 9, 0}},
    /* a saturday waits for monday 09:00 */
    {{2026, 11, 28, 3, 0}, 0, 1, {2026, 11, 30, 9, 0}},
    /* National Day (a calendar holiday, a thursday) waits for 10-08 */
    {{2026, 10, 1, 10, 0}, 0, 1, {2026, 10, 8, 9, 0}},
    /* ... and without the calendar it is a working thursday */
    {{2026, 10, 1, 10, 0}, 0, 0, {2026, 10, 1, 10, 0}},
    /* a make-up working saturday is open */
    {{2026, 10, 10, 10, 0}, 0, 1, {2026, 10, 10, 10, 0}},
    /* the lunch break waits for 13:30 */
    {{2026, 12, 1, 12, 30}, 1, 1, {2026, 12, 1, 13, 30}},
};

#define NOPEN (sizeof open_cases / sizeof open_cases[0])

START_TEST(test_next_open)
{
    struct worktime w;
    char got[32], want[32];
    int64_t at;

    school(&w, open_cases[_i].lunch, open_cases[_i].calendar);
    at = worktime_next_open(&w, sh5(open_cases[_i].at));
    ck_assert_msg(at == sh5(open_cases[_i].open), "row %d: got %s, want %s",
                  _i, worktime_format(&w, at, got, sizeof got),
                  worktime_format(&w, sh5(open_cases[_i].open), want,
                                  sizeof want));
    /* a second within working time is itself, not rounded to a minute */
    if (at == sh5(open_cases[_i].at))
        ck_assert_int_eq(worktime_next_open(&w, at + 1234), at + 1234);
    worktime_free(&w);
}
END_TEST

START_TEST(test_next_open_never)
{
    struct worktime w;

    school(&w, 0, 0);
    w.days = 0;
    ck_assert_int_eq(worktime_next_open(&w, sh(2026, 12, 1, 10, 0)), -1);
    worktime_free(&w);
}
END_TEST

START_TEST(test_days_of_2026)
{
    struct worktime w;
    int64_t day = sh(2026, 1, 1, 12, 0) / WT_DAY_MS;
    int holidays = 0, workdays = 0;

    school(&w, 1, 1);
    /* 2026 has 365 days, 104 of them weekend days; the notice gives 33
     * days off, 14 of them on weekends, and 6 make-up working days on
     * weekends: 365 - 104 - (33 - 14) + 6 = 248 working days. */
    for (int i = 0; i < 365; i++) {
        workdays += worktime_is_workday(&w, day + i);
        holidays += !worktime_is_workday(&w, day + i);
    }
    ck_assert_int_eq(workdays, 248);
    ck_assert_int_eq(holidays, 117);
    ck_assert_int_eq(worktime_covered_until(&w), day + 364);
    worktime_free(&w);
}
END_TEST

START_TEST(test_long_and_never)
{
    struct worktime w;
    int64_t start = sh(2026, 12, 1, 10, 0);

    school(&w, 1, 1);
    /* longer than the ten years a day without work may last */
    ck_assert_int_gt(worktime_wait_until(&w, start, 0, 5000), start);
    w.days = 0; /* no working weekday and no make-up day after 2026 */
    ck_assert_int_eq(worktime_wait_until(&w, start, H(1), 0), -1);
    worktime_free(&w);
}
END_TEST

/* --- calendar files ---------------------------------------------------- */

static char *write_temp(const char *text)
{
    static char path[64];
    FILE *fp;
    int fd;

    snprintf(path, sizeof path, "/tmp/test_worktime_XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fp = fdopen(fd, "w");
    fputs(text, fp);
    fclose(fp);
    return path;
}

static const char bad_calendar[] = "# errors, one a line\n"
                                   "2026-01-01 holiday 元旦\n"
                                   "covers 2026-01-01 2026-12-31\n"
                                   "2026-13-01 holiday x\n"
                                   "2026-10-01 holliday 国庆节\n"
                                   "2027-01-01 holiday x\n"
                                   "2026-10-03..2026-10-01 holiday x\n"
                                   "2026-05-01 holiday 劳动节\n"
                                   "2026-05-01 workday x\n"
                                   "2026-06-01\n"
                                   "covers 2026-01-01 2026-12-31\n"
                                   "  2026-10-10 workday 国庆节调休   # fine\n";

static const char *const bad_messages[] = {
    ":2:1: a date before the \"covers\" line: start the file with covers "
    "FIRST LAST",
    ":4:1: invalid date \"2026-13-01\": use YYYY-MM-DD",
    ":5:12: unknown kind \"holliday\": use holiday or workday",
    ":6:1: 2027-01-01 is outside the dates this file covers",
    ":7:13: the range ends before it starts",
    ":9:1: 2026-05-01 is listed both as a holiday and as a workday",
    ":10:11: expected \"holiday\" or \"workday\" after the date",
    ":11:1: a second \"covers\" line: one a file",
};

START_TEST(test_calendar_errors)
{
    struct worktime w;
    struct diag d = {0};
    char *path = write_temp(bad_calendar), want[256];
    size_t n = sizeof bad_messages / sizeof bad_messages[0];

    worktime_init(&w, ZONE);
    ck_assert_int_eq(worktime_load_calendar(&w, path, &d), (int)n);
    ck_assert_int_eq(d.n, n);
    for (size_t i = 0; i < n; i++) {
        snprintf(want, sizeof want, "%s%s", path, bad_messages[i]);
        ck_assert_str_eq(d.v[i].text, want);
    }
    /* what was right still counts */
    ck_assert_int_eq(
        worktime_is_workday(&w, sh(2026, 10, 10, 12, 0) / WT_DAY_MS), 1);
    unlink(path);
    diag_clear(&d);
    worktime_free(&w);
}
END_TEST

START_TEST(test_calendar_no_covers)
{
    struct worktime w;
    struct diag d = {0};
    char *path = write_temp("# nothing but a comment\n"), want[256];

    worktime_init(&w, ZONE);
    ck_assert_int_eq(worktime_load_calendar(&w, path, &d), 1);
    snprintf(want, sizeof want,
             "%s:1: no \"covers\" line: say which dates the file covers, "
             "e.g. covers 2026-01-01 2026-12-31",
             path);
    ck_assert_str_eq(diag_first(&d), want);
    ck_assert_int_eq(worktime_load_calendar(&w, "/nonexistent.cal", &d), -1);
    unlink(path);
    diag_clear(&d);
    worktime_free(&w);
}
END_TEST

/* --- [worktime] in the config ------------------------------------------ */

START_TEST(test_config)
{
    struct config cfg;
    struct diag d = {0};
    char *path = write_temp("[worktime]\n"
                            "days = mon-fry\n"
                            "hours = 18:00-09:00\n"
                            "timezone = Asia/Shangai\n");

    ck_assert_int_eq(config_load(path, &cfg, &d), -1);
    ck_assert_int_eq(d.errors, 3);
    ck_assert_ptr_nonnull(strstr(d.v[0].text, ":2: days: invalid days "
                                              "\"mon-fry\""));
    ck_assert_ptr_nonnull(strstr(d.v[1].text, ":3: hours: invalid hours "
                                              "\"18:00-09:00\""));
    ck_assert_ptr_nonnull(strstr(d.v[2].text, ":4: timezone: unknown time "
                                              "zone \"Asia/Shangai\""));
    config_free(&cfg);
    diag_clear(&d);
    unlink(path);

    path = write_temp("[worktime]\n"
                      "days = mon-sat\n"
                      "lunch = 08:00-09:30\n");
    ck_assert_int_eq(config_load(path, &cfg, &d), -1);
    ck_assert_ptr_nonnull(strstr(diag_first(&d), ":3: lunch: the lunch "
                                                 "break must lie inside"));
    config_free(&cfg);
    diag_clear(&d);
    unlink(path);
}
END_TEST

/* [leads] followup_within: nudgectl overdue's deadline, in wall-clock
 * or working time. */
START_TEST(test_lead_deadline)
{
    const int64_t fri_17h = 1796374800000LL; /* 2026-12-04 17:00 +08 */
    struct config cfg;
    struct diag d = {0};
    char *path = write_temp("[worktime]\n"
                            "timezone = Asia/Shanghai\n"
                            "[leads]\n"
                            "followup_within = 1d working\n");

    ck_assert_int_eq(config_load(path, &cfg, &d), 0);
    /* an hour on Friday, eight on Monday: Monday 17:00 */
    ck_assert_int_eq(leads_deadline(&cfg, fri_17h), 1796634000000LL);
    cfg.leads.followup_within.working = 0;
    cfg.leads.followup_within.ms = 86400000;
    ck_assert_int_eq(leads_deadline(&cfg, fri_17h), fri_17h + 86400000);
    config_free(&cfg);
    unlink(path);

    path = write_temp("[leads]\nfollowup_within = 1w working\n");
    ck_assert_int_eq(config_load(path, &cfg, &d), -1);
    ck_assert_ptr_nonnull(strstr(diag_first(&d), ":2: followup_within: "
                                                 "invalid deadline"));
    config_free(&cfg);
    diag_clear(&d);
    unlink(path);
}
END_TEST

START_TEST(test_config_defaults)
{
    struct config cfg;

    ck_assert_int_eq(config_defaults(&cfg), 0);
    ck_assert_uint_eq(cfg.worktime.days, 0x3e); /* mon-fri */
    ck_assert_int_eq(cfg.worktime.from, 9 * 60);
    ck_assert_int_eq(cfg.worktime.to, 18 * 60);
    ck_assert_str_eq(cfg.worktime.zone, "Asia/Shanghai"); /* [delivery] */
    ck_assert_int_eq(cfg.worktime.ncovers, 0);
    config_free(&cfg);
}
END_TEST

/* --- the rule language --------------------------------------------------- */

static const char working_rules[] = "rule sla {\n"
                                    "    on assigned\n"
                                    "    wait 2h working\n"
                                    "    wait 3d working\n"
                                    "    wait 30m\n"
                                    "    send sms hello\n"
                                    "}\n";

START_TEST(test_parse_working)
{
    struct diag d = {0};
    struct rule_file *f =
        rule_parse("t.rules", working_rules, strlen(working_rules), &d);

    ck_assert_int_eq(d.errors, 0);
    ck_assert_int_eq(f->rules[0].nsteps, 4);
    ck_assert_int_eq(f->rules[0].steps[0].working, 1);
    ck_assert_int_eq(f->rules[0].steps[0].ms, H(2));
    ck_assert_int_eq(f->rules[0].steps[1].working, 1);
    ck_assert_int_eq(f->rules[0].steps[1].work_days, 3);
    ck_assert_int_eq(f->rules[0].steps[1].ms, 0);
    ck_assert_int_eq(f->rules[0].steps[2].working, 0); /* wall clock */
    ck_assert_int_eq(f->rules[0].steps[2].ms, M(30));
    rule_file_free(f);
}
END_TEST

START_TEST(test_parse_working_errors)
{
    static const char src[] = "rule sla {\n"
                              "    on assigned\n"
                              "    wait 2h workin\n"
                              "    wait 2w working\n"
                              "    send sms hello\n"
                              "}\n";
    struct diag d = {0};
    struct rule_file *f = rule_parse("t.rules", src, strlen(src), &d);

    ck_assert_int_eq(d.errors, 2);
    ck_assert_str_eq(d.v[0].text,
                     "t.rules:3:13: expected \"working\" or the end of the "
                     "line after \"wait 2h\", found \"workin\": did you mean "
                     "\"working\"?");
    ck_assert_str_eq(d.v[1].text,
                     "t.rules:4:10: \"2w working\": a working week depends "
                     "on [worktime] days; count working days instead (\"5d "
                     "working\")");
    rule_file_free(f);
    diag_clear(&d);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("worktime", &tc);

    tcase_add_loop_test(tc, test_add, 0, NADD);
    tcase_add_loop_test(tc, test_next_open, 0, NOPEN);
    tcase_add_test(tc, test_next_open_never);
    tcase_add_test(tc, test_days_of_2026);
    tcase_add_test(tc, test_long_and_never);
    tcase_add_test(tc, test_calendar_errors);
    tcase_add_test(tc, test_calendar_no_covers);
    tcase_add_test(tc, test_config);
    tcase_add_test(tc, test_lead_deadline);
    tcase_add_test(tc, test_config_defaults);
    tcase_add_test(tc, test_parse_working);
    tcase_add_test(tc, test_parse_working_errors);
    return check_run(s);
}
