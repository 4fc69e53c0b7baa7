/*
 * test_progress.c - the progress line of long nudgectl commands
 * (cli/progress.h): its rate and time-left arithmetic, its text, the
 * redraw throttle under an injected clock, and silence off a terminal
 * or with --json.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/progress.h"
#include "tests/support/check_run.h"

static const struct {
    size_t done, total;
    int64_t elapsed_ms;
    const char *want;
} line_cases[] = {
    /* the brief's example: 12,000 in 266 ms is 45,113/s; 88,000 left
     * take 1.95 s, rounded up */
    {12000, 100000, 266,
     "diff: 12,000/100,000 students, 45,113/s, 2s left"},
    /* nothing done yet: no rate, no time left */
    {0, 100000, 500, "diff: 0/100,000 students"},
    /* no time passed: no rate either */
    {10, 100, 0, "diff: 10/100 students"},
    /* minutes and hours */
    {1000, 1000000, 1000, "diff: 1,000/1,000,000 students, 1,000/s, "
                          "16m39s left"},
    {1, 10000, 1000, "diff: 1/10,000 students, 1/s, 2h46m left"},
    /* done: nothing left */
    {500, 500, 250, "diff: 500/500 students, 2,000/s, 0s left"},
};

START_TEST(test_line)
{
    char buf[160];

    ck_assert_str_eq(progress_format(buf, sizeof buf, "diff", "students",
                                     line_cases[_i].done, line_cases[_i].total,
                                     line_cases[_i].elapsed_ms),
                     line_cases[_i].want);
}
END_TEST

static const struct {
    size_t done, total;
    int64_t elapsed_ms;
    long left;
} left_cases[] = {
    {50, 100, 1000, 1},       /* 50/s, 50 left: exactly 1 s */
    {30, 100, 1000, 3},       /* 70 at 30/s: 2.33 s, rounded up */
    {0, 100, 1000, -1},       /* unknown */
    {100, 100, 1000, 0},      /* done */
    {120, 100, 1000, 0},      /* more than the total (students added) */
    {1, 1000000, 60000, 59999940}, /* slow: no overflow */
};

START_TEST(test_seconds_left)
{
    ck_assert_int_eq(progress_seconds_left(left_cases[_i].done,
                                           left_cases[_i].total,
                                           left_cases[_i].elapsed_ms),
                     left_cases[_i].left);
}
END_TEST

START_TEST(test_group)
{
    char buf[32];

    ck_assert_str_eq(progress_group(0, buf, sizeof buf), "0");
    ck_assert_str_eq(progress_group(999, buf, sizeof buf), "999");
    ck_assert_str_eq(progress_group(1000, buf, sizeof buf), "1,000");
    ck_assert_str_eq(progress_group(1234567, buf, sizeof buf), "1,234,567");
    /* cut short, never past the buffer */
    ck_assert_str_eq(progress_group(1234567, buf, 4), "1,2");
}
END_TEST

static int64_t fake_ms;

static int64_t fake_clock(void)
{
    return fake_ms;
}

/* What a line written to a memory stream holds. */
static char *drive(int show, size_t *len)
{
    char *text = NULL;
    FILE *fp = open_memstream(&text, len);
    struct progress p;

    ck_assert_ptr_nonnull(fp);
    fake_ms = 1000;
    progress_start(&p, fp, show, "diff", "students", 1000, fake_clock);
    progress_update(&p, 100); /* the first: drawn */
    fake_ms += 50;
    progress_update(&p, 200); /* too soon: not drawn */
    fake_ms += 60;
    progress_update(&p, 300); /* 110 ms after the first: drawn */
    fake_ms += 10;
    progress_update(&p, 1000); /* the last is always drawn */
    progress_end(&p);
    fclose(fp);
    return text;
}

START_TEST(test_redraw_throttle)
{
    size_t len;
    char *text = drive(1, &len);

    ck_assert_ptr_nonnull(strstr(text, "\rdiff: 100/1,000 students\033[K"));
    ck_assert_ptr_null(strstr(text, "200/1,000"));
    /* 300 in 110 ms */
    ck_assert_ptr_nonnull(
        strstr(text, "\rdiff: 300/1,000 students, 2,727/s, 1s left\033[K"));
    ck_assert_ptr_nonnull(strstr(text, "1,000/1,000 students"));
    /* the end clears the line */
    ck_assert_str_eq(text + len - 4, "\r\033[K");
    free(text);
}
END_TEST

START_TEST(test_silent_when_not_shown)
{
    size_t len;
    char *text = drive(0, &len);

    ck_assert_uint_eq(len, 0);
    free(text);
}
END_TEST

START_TEST(test_wanted_only_on_a_terminal)
{
    FILE *fp = tmpfile();

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(progress_wanted(fp, 0), 0); /* a file */
    ck_assert_int_eq(progress_wanted(fp, 1), 0);
    ck_assert_int_eq(progress_wanted(NULL, 0), 0);
    fclose(fp);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("progress", &tc);

    tcase_add_loop_test(tc, test_line, 0,
                        sizeof line_cases / sizeof line_cases[0]);
    tcase_add_loop_test(tc, test_seconds_left, 0,
                        sizeof left_cases / sizeof left_cases[0]);
    tcase_add_test(tc, test_group);
    tcase_add_test(tc, test_redraw_throttle);
    tcase_add_test(tc, test_silent_when_not_shown);
    tcase_add_test(tc, test_wanted_only_on_a_terminal);
    return check_run(s);
}
