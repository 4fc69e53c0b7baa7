/*
 * test_backoff.c - backoff ceilings and jitter bounds, and durations.
 */
#include <check.h>
#include <stdlib.h>

#include "core/backoff.h"
#include "core/duration.h"
#include "tests/support/check_run.h"

static const struct {
    int64_t base, cap;
    int attempt;
    int64_t ceiling;
} ceiling_cases[] = {
    {100, 5000, 0, 100},
    {100, 5000, 1, 200},
    {100, 5000, 5, 3200},
    /* capped */
    {100, 5000, 6, 5000},
    {100, 5000, 60, 5000},
    /* a huge attempt number must not overflow */
    {30000, 3600000, 1000000, 3600000},
    /* negative attempts count as the first */
    {100, 5000, -3, 100},
};

START_TEST(test_ceiling)
{
    ck_assert_int_eq(backoff_ceiling(ceiling_cases[_i].base,
                                     ceiling_cases[_i].cap,
                                     ceiling_cases[_i].attempt),
                     ceiling_cases[_i].ceiling);
}
END_TEST

START_TEST(test_jitter_bounds)
{
    /* r is the injected randomness: its extremes give the bounds */
    ck_assert_int_eq(backoff_full_jitter(100, 5000, 3, 0.0), 0);
    ck_assert_int_le(backoff_full_jitter(100, 5000, 3, 0.999999), 800);
    ck_assert_int_ge(backoff_full_jitter(100, 5000, 3, 0.999999), 799);
    ck_assert_int_eq(backoff_equal_jitter(100, 5000, 3, 0.0), 400);
    ck_assert_int_le(backoff_equal_jitter(100, 5000, 3, 0.999999), 800);
    for (int i = 0; i < 1000; i++) {
        double r = backoff_random();
        ck_assert(r >= 0.0 && r < 1.0);
        /* a reconnect never waits less than half its ceiling: no spin */
        ck_assert_int_ge(backoff_equal_jitter(100, 5000, 0, r), 50);
    }
}
END_TEST

static const struct {
    const char *text;
    int ok;
    int64_t ms;
} duration_cases[] = {
    {"30s", 1, 30000},
    {"15m", 1, 900000},
    {"2h", 1, 7200000},
    {"3d", 1, 259200000},
    {"1w", 1, 604800000},
    {"250ms", 1, 250},
    {"0s", 1, 0},
    /* errors */
    {"", 0, 0},
    {"3", 0, 0},
    {"3x", 0, 0},
    {"h", 0, 0},
    {"-1s", 0, 0},
    {"1.5h", 0, 0},
    {"2 h", 0, 0},
    {"99999999999999999999w", 0, 0},
};

START_TEST(test_duration_parse)
{
    int64_t ms = -1;
    int rc = duration_parse(duration_cases[_i].text, &ms);

    ck_assert_int_eq(rc == 0, duration_cases[_i].ok);
    if (duration_cases[_i].ok)
        ck_assert_int_eq(ms, duration_cases[_i].ms);
}
END_TEST

START_TEST(test_duration_format)
{
    char buf[32];

    ck_assert_str_eq(duration_format(7200000, buf, sizeof buf), "2h");
    ck_assert_str_eq(duration_format(90000, buf, sizeof buf), "90s");
    ck_assert_str_eq(duration_format(250, buf, sizeof buf), "250ms");
    ck_assert_str_eq(duration_format(604800000, buf, sizeof buf), "1w");
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("backoff", &tc);

    tcase_add_loop_test(tc, test_ceiling, 0,
                        sizeof ceiling_cases / sizeof ceiling_cases[0]);
    tcase_add_test(tc, test_jitter_bounds);
    tcase_add_loop_test(tc, test_duration_parse, 0,
                        sizeof duration_cases / sizeof duration_cases[0]);
    tcase_add_test(tc, test_duration_format);
    return check_run(s);
}
