/*
 * test_forecast.c - the forecast's walk (rules/forecast.h), no Redis: a
 * table of rules and one student, each row the messages expected per
 * local day over three days (schedules, a queued job, `when`, opt-out,
 * quiet hours moving a send, a daily cap, dedup, a stop, a holdout, a
 * pause); then the segments and their cost, the busiest hour, and the
 * spread of an event rule's estimate.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "rules/forecast.h"
#include "rules/parser.h"
#include "tests/support/check_run.h"

#define HOUR (3600LL * 1000)
#define DAY (24 * HOUR)

/* Monday 2026-03-02 07:00 in Asia/Shanghai (UTC+8). */
static const int64_t T0 = 1772406000000LL;

static char dir[64];

static void put(const char *name, const char *text)
{
    char path[128];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!(fp = fopen(path, "w"))) { /* before the tests: no ck_assert */
        perror(path);
        exit(1);
    }
    fputs(text, fp);
    fclose(fp);
}

static const struct {
    const char *rules;  /* the rule "r" among them is counted */
    const char *optout; /* the student refused this, or NULL */
    const char *stage;
    int job_step;       /* > 0: a job of r at this step, due job_due */
    int64_t job_due;
    int dedup;          /* [delivery] dedup_window = 25h */
    const char *pause;  /* a pause field, or NULL */
    int want[3];        /* r's messages on each day */
    long long skipped, later, held_out, paused;
} cases[] = {
    /* a schedule fires each day */
    {"rule r {\n every day 10:00\n send sms hi\n}\n", NULL, "lead", 0, 0, 0,
     NULL, {1, 1, 1}, 0, 0, 0, 0},
    /* `when` does not match: nothing */
    {"rule r {\n every day 10:00\n when stage == contacted\n"
     " send sms hi\n}\n", NULL, "lead", 0, 0, 0, NULL, {0, 0, 0}, 0, 0, 0, 0},
    /* a weekly schedule: Monday only (today) */
    {"rule r {\n every monday 10:00\n send sms hi\n}\n", NULL, "lead", 0, 0,
     0, NULL, {1, 0, 0}, 0, 0, 0, 0},
    /* opted out of sms: skipped each time */
    {"rule r {\n every day 10:00\n send sms hi\n}\n", "sms", "lead", 0, 0, 0,
     NULL, {0, 0, 0}, 3, 0, 0, 0},
    /* 22:00 is in quiet hours: each goes at 08:00 the day after; the
     * last one after the horizon */
    {"rule r {\n every day 22:00\n send sms hi\n}\n", NULL, "lead", 0, 0, 0,
     NULL, {0, 1, 1}, 0, 1, 0, 0},
    /* max_per_day 1: the earlier rule takes the day's cap */
    {"rule a {\n every day 09:00\n send sms hi\n}\n"
     "rule r {\n every day 11:00\n send sms bye\n}\n", NULL, "lead", 0, 0,
     0, NULL, {0, 0, 0}, 3, 0, 0, 0},
    /* a queued job of a wait-then-send run, due tomorrow at noon */
    {"rule r {\n on created\n wait 1d\n send sms hi\n}\n", NULL, "lead", 1,
     T0 + DAY + 5 * HOUR, 0, NULL, {0, 1, 0}, 0, 0, 0, 0},
    /* dedup_window 25h: the template sent the day before holds the next
     * day's, not the one after */
    {"rule r {\n every day 10:00\n send sms hi\n}\n", NULL, "lead", 0, 0,
     1, NULL, {1, 0, 1}, 1, 0, 0, 0},
    /* a stop that holds ends the run before its send */
    {"rule r {\n every day 10:00\n wait 1h\n stop unless stage == contacted\n"
     " send sms hi\n}\n", NULL, "lead", 0, 0, 0, NULL, {0, 0, 0}, 0, 0, 0,
     0},
    /* a run in progress (its wait spans two days) blocks the next firing */
    {"rule r {\n every day 10:00\n wait 30h\n send sms hi\n}\n", NULL,
     "lead", 0, 0, 0, NULL, {0, 1, 0}, 0, 0, 0, 0},
    /* held out (the draw of "r" and "7" is 3944 of 10000): never sent */
    {"rule r {\n every day 10:00\n holdout 50%\n send sms hi\n}\n", NULL,
     "lead", 0, 0, 0, NULL, {0, 0, 0}, 0, 0, 3, 0},
    /* and not when the share is below the draw */
    {"rule r {\n every day 10:00\n holdout 30%\n send sms hi\n}\n", NULL,
     "lead", 0, 0, 0, NULL, {1, 1, 1}, 0, 0, 0, 0},
    /* a paused rule sends nothing */
    {"rule r {\n every day 10:00\n send sms hi\n}\n", NULL, "lead", 0, 0, 0,
     "rule:r", {0, 0, 0}, 0, 0, 0, 3},
    /* a paused channel too */
    {"rule r {\n every day 10:00\n send sms hi\n}\n", NULL, "lead", 0, 0, 0,
     "channel:sms", {0, 0, 0}, 0, 0, 0, 3},
};

struct fixture {
    struct config cfg;
    struct rules_env env;
    struct ruleset *set;
    struct tmpl_set *tmpls;
    struct student *st;
    struct forecast fc;
};

static void fixture_open(struct fixture *f, const char *rules)
{
    struct diag d = {0};
    struct rule_file **files = calloc(1, sizeof *files);
    char text[2048];

    memset(f, 0, sizeof *f);
    ck_assert_int_eq(config_defaults(&f->cfg), 0);
    free(f->cfg.delivery.quiet_hours);
    f->cfg.delivery.quiet_hours = strdup("21:00-08:00");
    f->cfg.delivery.max_per_day = 1;
    f->cfg.delivery.dedup_window_ms = 0;
    ck_assert_int_eq(rules_env_add_channel(&f->env, "sms", "sms"), 0);
    snprintf(text, sizeof text, "stages lead contacted\n%s", rules);
    files[0] = rule_parse("t.rules", text, strlen(text), &d);
    ck_assert_msg(ruleset_build(files, 1, &f->env, &f->set, &d) == 0, "%s",
                  diag_first(&d));
    f->tmpls = tmpl_set_load(dir, &f->cfg, &d);
    ck_assert_msg(f->tmpls != NULL, "%s", diag_first(&d));
    diag_clear(&d);
    f->st = student_new("7");
    attrs_set(&f->st->attrs, "name", "Li");
    attrs_set(&f->st->attrs, "phone", "+8613800000007");
}

static void fixture_start(struct fixture *f)
{
    student_seal(f->st);
    ck_assert_int_eq(forecast_init(&f->fc, &f->cfg, &f->env, f->set,
                                   f->tmpls, T0, 3),
                     0);
}

static void fixture_close(struct fixture *f)
{
    forecast_free(&f->fc);
    student_free(f->st);
    tmpl_set_unref(f->tmpls);
    ruleset_free(f->set);
    rules_env_free(&f->env);
    config_free(&f->cfg);
}

START_TEST(test_walk)
{
    struct fixture f;
    struct fc_job job = {"7", 0, 0, 0, 0};
    const struct crule *r;
    size_t ri;

    fixture_open(&f, cases[_i].rules);
    attrs_set(&f.st->attrs, "stage", cases[_i].stage);
    if (cases[_i].optout)
        strset_add(&f.st->optouts, cases[_i].optout);
    if (cases[_i].dedup)
        f.cfg.delivery.dedup_window_ms = 25 * HOUR;
    fixture_start(&f);
    if (cases[_i].pause)
        ck_assert_int_eq(forecast_pause(&f.fc, cases[_i].pause), 0);
    ck_assert_ptr_nonnull(r = ruleset_find(f.set, "r"));
    ri = (size_t)(r - f.set->rules);
    job.rule = ri;
    job.step = (size_t)cases[_i].job_step;
    job.due_ms = cases[_i].job_due;
    ck_assert_int_eq(forecast_student(&f.fc, f.st, &job,
                                      cases[_i].job_step > 0),
                     0);
    for (int d = 0; d < 3; d++)
        ck_assert_msg(forecast_cell(&f.fc, ri, d, 0)->messages ==
                          cases[_i].want[d],
                      "day %d: %lld messages, want %d", d,
                      forecast_cell(&f.fc, ri, d, 0)->messages,
                      cases[_i].want[d]);
    ck_assert_int_eq(f.fc.rules[ri].skipped, cases[_i].skipped);
    ck_assert_int_eq(f.fc.rules[ri].later, cases[_i].later);
    ck_assert_int_eq(f.fc.rules[ri].held_out, cases[_i].held_out);
    ck_assert_int_eq(f.fc.rules[ri].held_paused, cases[_i].paused);
    fixture_close(&f);
}
END_TEST

/* A 2-segment SMS (UCS-2, over 70 characters) at 0.045 a segment, sent
 * each day at 10:00 to two students: 6 messages, 12 segments, 0.54. The
 * busiest hour is the first day's 10:00, with 2. */
START_TEST(test_segments_cost_busiest)
{
    struct fixture f;
    struct student *other;
    long long segments;
    int day, hour;

    fixture_open(&f, "rule r {\n every day 10:00\n send sms long\n}\n");
    fixture_start(&f);
    f.fc.chans[0].ch.price_per_segment = 0.045;
    ck_assert_int_eq(forecast_student(&f.fc, f.st, NULL, 0), 0);
    other = student_new("8");
    attrs_set(&other->attrs, "name", "Wang");
    attrs_set(&other->attrs, "phone", "+8613800000008");
    student_seal(other);
    ck_assert_int_eq(forecast_student(&f.fc, other, NULL, 0), 0);
    ck_assert_double_eq_tol(forecast_cost(&f.fc, 0, &segments), 0.54, 1e-9);
    ck_assert_int_eq(segments, 12);
    ck_assert_double_eq(forecast_busiest_hour(&f.fc, &day, &hour), 2);
    ck_assert_int_eq(day, 0);
    ck_assert_int_eq(hour, 10);
    ck_assert_int_eq(f.fc.students, 2);
    student_free(other);
    fixture_close(&f);
}
END_TEST

/* 60 trigger events in 30 days: 2 a day. A send 12h after the event
 * lands half on the event's day, half on the next; today counts only
 * from 07:00 (17/24 of a day). No busiest hour from estimates. */
START_TEST(test_estimate)
{
    struct fixture f;
    int day, hour;
    double d0, d1, d2;

    fixture_open(&f, "rule r {\n on created\n wait 12h\n send sms hi\n}\n");
    fixture_start(&f);
    forecast_estimate(&f.fc, 0, 60, 30);
    d0 = forecast_cell(&f.fc, 0, 0, 0)->estimated;
    d1 = forecast_cell(&f.fc, 0, 1, 0)->estimated;
    d2 = forecast_cell(&f.fc, 0, 2, 0)->estimated;
    ck_assert_double_eq_tol(d0, 2 * 17.0 / 24 * 0.5, 1e-9);
    ck_assert_double_eq_tol(d1, 2 * 17.0 / 24 * 0.5 + 1, 1e-9);
    ck_assert_double_eq_tol(d2, 2, 1e-9);
    ck_assert_int_eq(forecast_cell(&f.fc, 0, 1, 0)->messages, 0);
    ck_assert(f.fc.rules[0].estimated);
    ck_assert_double_eq(forecast_busiest_hour(&f.fc, &day, &hour), 0);
    fixture_close(&f);
}
END_TEST

/* The local days: today from now, then whole days; outside is -1. */
START_TEST(test_days)
{
    struct fixture f;

    fixture_open(&f, "rule r {\n every day 10:00\n send sms hi\n}\n");
    fixture_start(&f);
    ck_assert_int_eq(f.fc.day_start[1], T0 + 17 * HOUR);
    ck_assert_int_eq(f.fc.end_ms, T0 + 17 * HOUR + 2 * DAY);
    ck_assert_int_eq(forecast_day_of(&f.fc, T0 - 1), -1);
    ck_assert_int_eq(forecast_day_of(&f.fc, T0), 0);
    ck_assert_int_eq(forecast_day_of(&f.fc, T0 + 17 * HOUR), 1);
    ck_assert_int_eq(forecast_day_of(&f.fc, f.fc.end_ms - 1), 2);
    ck_assert_int_eq(forecast_day_of(&f.fc, f.fc.end_ms), -1);
    fixture_close(&f);
    ck_assert_int_eq(forecast_init(&f.fc, NULL, NULL, NULL, NULL, T0, 0),
                     -1);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("forecast", &tc);
    char cmd[128];
    int status;

    clock_set_zone("Asia/Shanghai");
    snprintf(dir, sizeof dir, "/tmp/nudge-forecast-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    put("hi.sms", "{{name}}同学您好\n");
    put("bye.sms", "{{name}}同学再见\n");
    put("long.sms", "{{name}}同学您好，感谢关注我校招生。本周六上午九点在图书馆"
                    "报告厅举办专业介绍会，欢迎携家长参加，现场可咨询奖学金政策与"
                    "宿舍安排。名额有限，请尽快回复报名。\n");
    tcase_add_loop_test(tc, test_walk, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_segments_cost_busiest);
    tcase_add_test(tc, test_estimate);
    tcase_add_test(tc, test_days);
    status = check_run(s);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_forecast: could not remove %s\n", dir);
    return status;
}
