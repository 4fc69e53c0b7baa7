/*
 * test_alert_render.c - the text of grouped alerts: overdue durations,
 * WeCom markdown cut at its byte limit with "and N more", plain text and
 * the email's HTML table, values escaped for each.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/alert_render.h"
#include "tests/support/check_run.h"

static const struct {
    long long ms;
    const char *want;
} overdue_cases[] = {
    {0, "0s"},
    {-5000, "0s"},                       /* never negative */
    {42 * 1000, "42s"},
    {5 * 60 * 1000 + 999, "5m"},
    {(26 * 3600 + 5 * 60) * 1000LL, "1d 2h"},
    {(5 * 3600 + 12 * 60) * 1000LL, "5h 12m"},
};

START_TEST(test_overdue_format)
{
    char buf[32];

    alert_format_overdue(overdue_cases[_i].ms, buf, sizeof buf);
    ck_assert_str_eq(buf, overdue_cases[_i].want);
}
END_TEST

static const struct alert_row two[] = {
    {"李*明_", "lead", "张老师", 3600 * 1000, "https://crm/s/1"},
    {"<b>x</b>", "", "t2", 60 * 1000, NULL},
};

static char *text_of(struct tbuf *b)
{
    tbuf_terminate(b);
    return b->p;
}

START_TEST(test_markdown_rows)
{
    struct tbuf b = {0};
    size_t shown =
        alert_render_markdown(&b, "**3 条**", 1, two, 2, ALERT_WECOM_MAX);

    ck_assert_int_eq(shown, 2);
    ck_assert_str_eq(text_of(&b),
                     "**3 条**\n\n**2 leads overdue**, most overdue first:\n"
                     "1. [李\\*明\\_](https://crm/s/1) · lead · owner 张老师 · "
                     "1h 0m overdue\n"
                     "2. \\<b\\>x\\</b\\> · owner t2 · 1m overdue");
    tbuf_free(&b);
}
END_TEST

/* A text heading is escaped into the markdown; its final line breaks go. */
START_TEST(test_markdown_text_heading)
{
    struct tbuf b = {0};

    alert_render_markdown(&b, "a*b\n\n", 0, two, 1, ALERT_WECOM_MAX);
    ck_assert_int_eq(strncmp(text_of(&b), "a\\*b\n\n**1 lead overdue**", 24),
                     0);
    tbuf_free(&b);
}
END_TEST

START_TEST(test_markdown_limit)
{
    enum { N = 300 };
    struct alert_row rows[N];
    struct tbuf b = {0};
    char more[64];
    size_t shown;

    for (int i = 0; i < N; i++)
        rows[i] = (struct alert_row){"很长的学生姓名用来填满消息", "lead",
                                     "张老师", 1000, "https://crm/s/12345"};
    shown = alert_render_markdown(&b, "heading", 1, rows, N, ALERT_WECOM_MAX);
    ck_assert_uint_lt(shown, N);
    ck_assert_uint_gt(shown, 20);
    ck_assert_uint_le(b.len, ALERT_WECOM_MAX);
    snprintf(more, sizeof more, "\n... and %zu more", (size_t)N - shown);
    ck_assert_str_eq(text_of(&b) + b.len - strlen(more), more);
    /* whole rows only: the last one shown is complete */
    ck_assert_ptr_nonnull(strstr(b.p, "overdue\n... and"));
    tbuf_free(&b);
}
END_TEST

START_TEST(test_text_rows_capped)
{
    struct tbuf b = {0};
    size_t shown = alert_render_text(&b, "", two, 2, 1);

    ck_assert_int_eq(shown, 1);
    ck_assert_str_eq(text_of(&b),
                     "2 leads overdue, most overdue first:\n"
                     "1. 李*明_ · lead · owner 张老师 · 1h 0m overdue · "
                     "https://crm/s/1\n... and 1 more");
    tbuf_free(&b);
}
END_TEST

START_TEST(test_html_table)
{
    struct tbuf b = {0};

    alert_render_html(&b, NULL, "您好 & 请跟进", two, 2, 500);
    text_of(&b);
    ck_assert_ptr_nonnull(strstr(b.p, "<p>您好 &amp; 请跟进</p>"));
    ck_assert_ptr_nonnull(
        strstr(b.p, "<tr><td>1</td><td><a href=\"https://crm/s/1\">李*明_</a>"
                    "</td><td>lead</td><td>张老师</td><td>1h 0m</td></tr>"));
    ck_assert_ptr_nonnull(
        strstr(b.p, "<td>&lt;b&gt;x&lt;/b&gt;</td>"));
    ck_assert_ptr_null(strstr(b.p, "more"));
    tbuf_free(&b);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("alert_render", &tc);

    tcase_add_loop_test(tc, test_overdue_format, 0,
                        sizeof overdue_cases / sizeof overdue_cases[0]);
    tcase_add_test(tc, test_markdown_rows);
    tcase_add_test(tc, test_markdown_text_heading);
    tcase_add_test(tc, test_markdown_limit);
    tcase_add_test(tc, test_text_rows_capped);
    tcase_add_test(tc, test_html_table);
    return check_run(s);
}
