/*
 * test_stream_trim.c - where the events stream may be cut: stream ids
 * read and compared, each group's safe point (its oldest pending entry,
 * or the first it has not read), the lowest of them and of "now - span",
 * and no cut at all without a group.
 */
#include <check.h>
#include <stdlib.h>

#include "daemon/stream_trim.h"
#include "tests/support/check_run.h"

static struct stream_id id(const char *s)
{
    struct stream_id v;

    ck_assert_int_eq(stream_id_parse(s, &v), 0);
    return v;
}

static const char *cut_text(const struct trim_group *g, size_t n,
                            int64_t now, int64_t span)
{
    static char buf[48];
    struct stream_id cut;

    if (!stream_trim_cut(g, n, now, span, &cut))
        return "none";
    return stream_id_format(cut, buf, sizeof buf);
}

START_TEST(test_parse)
{
    struct stream_id v;
    char buf[48];

    ck_assert_str_eq(stream_id_format(id("1700000000000-5"), buf, sizeof buf),
                     "1700000000000-5");
    ck_assert_str_eq(stream_id_format(id("42"), buf, sizeof buf), "42-0");
    ck_assert_str_eq(stream_id_format(id("18446744073709551615-"
                                         "18446744073709551615"),
                                      buf, sizeof buf),
                     "18446744073709551615-18446744073709551615");
    ck_assert_int_eq(stream_id_parse("", &v), -1);
    ck_assert_int_eq(stream_id_parse("-1", &v), -1);
    ck_assert_int_eq(stream_id_parse("1-", &v), -1);
    ck_assert_int_eq(stream_id_parse("1-2-3", &v), -1);
    ck_assert_int_eq(stream_id_parse("1 ", &v), -1);
    ck_assert_int_eq(stream_id_parse("18446744073709551616-0", &v), -1);
    ck_assert_int_eq(stream_id_parse(NULL, &v), -1);
}
END_TEST

START_TEST(test_compare)
{
    /* numbers, not text: "9" < "10" */
    ck_assert_int_lt(stream_id_cmp(id("9-0"), id("10-0")), 0);
    ck_assert_int_lt(stream_id_cmp(id("10-9"), id("10-10")), 0);
    ck_assert_int_gt(stream_id_cmp(id("11-0"), id("10-99")), 0);
    ck_assert_int_eq(stream_id_cmp(id("10"), id("10-0")), 0);
}
END_TEST

#define NOW 1000000
#define DAY 86400000LL

START_TEST(test_no_group)
{
    ck_assert_str_eq(cut_text(NULL, 0, NOW, 0), "none");
    ck_assert_str_eq(cut_text(NULL, 0, NOW, DAY), "none");
}
END_TEST

START_TEST(test_one_group)
{
    /* all read and acknowledged: everything up to the last one goes,
     * when the span allows */
    struct trim_group g = {.last_delivered = id("500-3")};

    ck_assert_str_eq(cut_text(&g, 1, NOW, 0), "500-4");
    ck_assert_str_eq(cut_text(&g, 1, NOW, 1000), "500-4");
    /* the span keeps entries from NOW - span on */
    ck_assert_str_eq(cut_text(&g, 1, NOW, NOW - 400), "400-0");
    /* a span longer than time itself: nothing goes */
    ck_assert_str_eq(cut_text(&g, 1, NOW, 2 * DAY * 365), "0-0");
    /* read, one left pending: it stays, and all after it */
    g.has_pending = 1;
    g.first_pending = id("200-7");
    ck_assert_str_eq(cut_text(&g, 1, NOW, 0), "200-7");
    /* a group that has read nothing keeps everything */
    struct trim_group fresh = {.last_delivered = id("0-0")};
    ck_assert_str_eq(cut_text(&fresh, 1, NOW, 0), "0-1");
}
END_TEST

START_TEST(test_lowest_group_wins)
{
    struct trim_group g[3] = {
        {.last_delivered = id("900-0")},
        /* lagging: read up to 300, 250 still pending */
        {.last_delivered = id("300-0"), .has_pending = 1,
         .first_pending = id("250-1")},
        {.last_delivered = id("700-2"), .has_pending = 1,
         .first_pending = id("650-0")},
    };

    ck_assert_str_eq(cut_text(g, 3, NOW, 0), "250-1");
    /* the span cuts lower still */
    ck_assert_str_eq(cut_text(g, 3, NOW, NOW - 100), "100-0");
    /* the lagging group acknowledges everything it read */
    g[1].has_pending = 0;
    ck_assert_str_eq(cut_text(g, 3, NOW, 0), "300-1");
    /* in any order */
    struct trim_group r[3] = {g[2], g[1], g[0]};
    ck_assert_str_eq(cut_text(r, 3, NOW, 0), "300-1");
}
END_TEST

START_TEST(test_next_id_at_the_end_of_seq)
{
    struct trim_group g = {.last_delivered = id("5-18446744073709551615")};

    ck_assert_str_eq(cut_text(&g, 1, NOW, 0), "6-0");
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("stream_trim", &tc);

    tcase_add_test(tc, test_parse);
    tcase_add_test(tc, test_compare);
    tcase_add_test(tc, test_no_group);
    tcase_add_test(tc, test_one_group);
    tcase_add_test(tc, test_lowest_group_wins);
    tcase_add_test(tc, test_next_id_at_the_end_of_seq);
    return check_run(s);
}
