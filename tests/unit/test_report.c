/*
 * test_report.c - the report's arithmetic and attribution: the Wilson
 * and Newcombe hybrid score intervals (rules/lift.h) against the values
 * Newcombe published (Statistics in Medicine 17, 1998, table II, method
 * 10), and which counts an event adds for a student's starts
 * (rules/report.h): within the window only, a later stage only, a reply
 * that opts out as both.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rules/lift.h"
#include "core/config.h"
#include "rules/report.h"
#include "tests/support/check_run.h"

/* --- the interval --------------------------------------------------------- */

static const struct {
    long x1, n1, x2, n2;
    double diff, lo, hi; /* as published, to 4 places */
} newcombe_cases[] = {
    {56, 70, 48, 80, 0.2000, 0.0524, 0.3339},
    {9, 10, 3, 10, 0.6000, 0.1705, 0.8090},
    {6, 7, 2, 7, 0.5714, 0.0582, 0.8062},
    {5, 56, 0, 29, 0.0893, -0.0381, 0.1926},
    {0, 10, 0, 20, 0.0000, -0.1611, 0.2775},
    {10, 10, 0, 20, 1.0000, 0.6791, 1.0000},
};

START_TEST(test_newcombe)
{
    struct lift l;

    lift_newcombe(newcombe_cases[_i].x1, newcombe_cases[_i].n1,
                  newcombe_cases[_i].x2, newcombe_cases[_i].n2, LIFT_Z95, &l);
    ck_assert_double_eq_tol(l.diff, newcombe_cases[_i].diff, 0.00005);
    ck_assert_double_eq_tol(l.lo, newcombe_cases[_i].lo, 0.00005);
    ck_assert_double_eq_tol(l.hi, newcombe_cases[_i].hi, 0.00005);
}
END_TEST

START_TEST(test_wilson_and_relative)
{
    double lo, hi;
    struct lift l;

    /* 81 of 263 (Newcombe's table I example): 0.2553 to 0.3662 */
    lift_wilson(81, 263, LIFT_Z95, &lo, &hi);
    ck_assert_double_eq_tol(lo, 0.2553, 0.00005);
    ck_assert_double_eq_tol(hi, 0.3662, 0.00005);
    lift_wilson(0, 0, LIFT_Z95, &lo, &hi);
    ck_assert(lo == 0 && hi == 1);
    lift_newcombe(30, 100, 20, 100, LIFT_Z95, &l);
    ck_assert(l.has_relative);
    ck_assert_double_eq_tol(l.relative, 0.5, 1e-12);
    lift_newcombe(3, 100, 0, 100, LIFT_Z95, &l);
    ck_assert(!l.has_relative); /* over a rate of 0 */
}
END_TEST

/* --- attribution ---------------------------------------------------------- */

static const char *const stages[] = {"lead", "contacted", "consulting",
                                     "applied"};

static int rank(void *ctx, const char *stage)
{
    for (int i = 0; stage && i < 4; i++)
        if (strcmp(stages[i], stage) == 0)
            return i;
    return -1;
}

static redisReply str_reply(const char *s)
{
    redisReply r = {.type = REDIS_REPLY_STRING};

    r.str = (char *)s;
    r.len = strlen(s);
    return r;
}

/* The commands attribution queues for an event at t_ms (its stream id's
 * time) of a student with one start: "treated 1000000 contacted". */
static int attribute(struct config *cfg, const char *type, const char *to,
                     int opted_out, int64_t t_ms, struct resp *out)
{
    redisReply f = str_reply("invite"),
               v = str_reply("treated 1000000 contacted");
    redisReply *el[2] = {&f, &v};
    redisReply exp = {.type = REDIS_REPLY_ARRAY, .elements = 2, .element = el};
    char id[32];
    struct event ev = {.id = id, .type = type, .student = "42"};

    snprintf(id, sizeof id, "%lld-0", (long long)t_ms);
    ev.kind = event_kind_of(type);
    ev.names[0] = "to";
    ev.values[0] = to;
    ev.nfields = to ? 1 : 0;
    resp_reset(out);
    return report_attribute(out, cfg, &exp, &ev, opted_out, rank, NULL, 0);
}

static int queued(const struct resp *out, const char *metric)
{
    char want[200];

    snprintf(want, sizeof want, ":treated:%s\r\n", metric);
    return out->buf && memmem(out->buf, out->len, want, strlen(want)) != NULL;
}

START_TEST(test_attribution)
{
    struct config cfg;
    struct resp out = {0};
    int64_t day = 86400000;

    ck_assert_int_eq(config_defaults(&cfg), 0);
    /* a later stage, within the window: converted */
    ck_assert_int_eq(
        attribute(&cfg, "stage", "applied", 0, 1000000 + day, &out), 1);
    ck_assert(queued(&out, "converted"));
    /* the same stage, or an earlier one: nothing */
    ck_assert_int_eq(attribute(&cfg, "stage", "contacted", 0, 2000000, &out),
                     0);
    ck_assert_int_eq(attribute(&cfg, "stage", "lead", 0, 2000000, &out), 0);
    ck_assert_int_eq(attribute(&cfg, "stage", "nosuch", 0, 2000000, &out), 0);
    /* after the window (14 days), or before the start: nothing */
    ck_assert_int_eq(
        attribute(&cfg, "stage", "applied", 0, 1000000 + 15 * day, &out), 0);
    ck_assert_int_eq(attribute(&cfg, "stage", "applied", 0, 999999, &out), 0);
    ck_assert_int_eq(
        attribute(&cfg, "stage", "applied", 0, 1000000 + 14 * day, &out), 1);
    /* a reply; a reply that opts out is both; an opt-out */
    ck_assert_int_eq(attribute(&cfg, "reply", NULL, 0, 2000000, &out), 1);
    ck_assert(queued(&out, "replied"));
    ck_assert_int_eq(attribute(&cfg, "reply", NULL, 1, 2000000, &out), 2);
    ck_assert(queued(&out, "replied") && queued(&out, "opted_out"));
    ck_assert_int_eq(attribute(&cfg, "optout", NULL, 0, 2000000, &out), 1);
    ck_assert(queued(&out, "opted_out"));
    /* the counters off: nothing */
    cfg.report.counters = 0;
    ck_assert_int_eq(attribute(&cfg, "reply", NULL, 0, 2000000, &out), 0);
    resp_free(&out);
    config_free(&cfg);
}
END_TEST

/* The index's answer for one student: read its exp hash or not. */
START_TEST(test_exposed)
{
    redisReply nil = {.type = REDIS_REPLY_NIL};
    redisReply err = {.type = REDIS_REPLY_ERROR};
    redisReply until = str_reply("1209600000");

    ck_assert(!report_exposed(&nil, 1000));
    ck_assert(!report_exposed(NULL, 1000));
    ck_assert(report_exposed(&until, 1209599999));
    ck_assert(!report_exposed(&until, 1209600000)); /* expired by then */
    /* not an answer the index gives: read, as without it */
    ck_assert(report_exposed(&err, 1000));
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("report", &tc);

    tcase_add_loop_test(tc, test_newcombe, 0,
                        sizeof newcombe_cases / sizeof newcombe_cases[0]);
    tcase_add_test(tc, test_wilson_and_relative);
    tcase_add_test(tc, test_attribution);
    tcase_add_test(tc, test_exposed);
    return check_run(s);
}
