/*
 * test_page.c - the supervisors' page builder: the inline SVG bar chart
 * (bars in proportion, labels escaped and cut, nothing drawn for no
 * data, interval whiskers on the bars' scale), every caller's text escaped (a
 * student named <script>alert(1)</script>), and contacts masked on the page
 * built from a throwaway redis-server, with the leads most overdue first.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/metrics.h"
#include "core/reply.h"
#include "rules/leads_list.h"
#include "rules/supervisor_page.h"
#include "templates/page.h"
#include "tests/support/check_run.h"
#include "tests/support/redis_server.h"

#define EVIL "<script>alert(1)</script>"
#define EVIL_ESCAPED "&lt;script&gt;alert(1)&lt;/script&gt;"

/* A page holding only what fill() writes into one section. */
static char *one_section(void (*fill)(struct page *p, void *arg), void *arg)
{
    struct page p;
    char *s;

    page_begin(&p, "t", NULL);
    page_section(&p, "s", "S");
    fill(&p, arg);
    s = page_end(&p);
    ck_assert_ptr_nonnull(s);
    return s;
}

struct chart {
    const struct page_bar *bars;
    size_t n;
};

static void fill_chart(struct page *p, void *arg)
{
    const struct chart *c = arg;
    page_bar_chart(p, "caption", c->bars, c->n, " h");
}

/* The widths of the chart's bars, in order; returns how many. */
static size_t bar_widths(const char *html, long *w, size_t max)
{
    size_t n = 0;

    for (const char *r = html; n < max && (r = strstr(r, "<rect ")); r++) {
        const char *width = strstr(r, "width=\"");
        ck_assert_ptr_nonnull(width);
        w[n++] = atol(width + 7);
    }
    return n;
}

START_TEST(test_chart_scales_bars)
{
    const struct page_bar bars[] = {{"a", 10}, {"b", 5},   {"c", 0},
                                    {"d", -3}, {"e", NAN}, {"f", 2.5}};
    struct chart c = {bars, 6};
    char *html = one_section(fill_chart, &c);
    long w[8];

    ck_assert_uint_eq(bar_widths(html, w, 8), 6);
    ck_assert_int_eq(w[0], PAGE_BAR_MAX); /* the largest is the longest */
    ck_assert_int_eq(w[1], PAGE_BAR_MAX / 2);
    ck_assert_int_eq(w[2], 0);
    ck_assert_int_eq(w[3], 0); /* negative counts as 0 */
    ck_assert_int_eq(w[4], 0); /* so does NaN */
    ck_assert_int_eq(w[5], PAGE_BAR_MAX / 4);
    /* the values at the bars' ends, with the unit */
    ck_assert_ptr_nonnull(strstr(html, ">10 h</text>"));
    ck_assert_ptr_nonnull(strstr(html, ">2.5 h</text>"));
    ck_assert_ptr_nonnull(strstr(html, "<title>caption</title>"));
    ck_assert_ptr_nonnull(strstr(html, "<svg class=\"bars\""));
    free(html);
}
END_TEST

START_TEST(test_chart_all_zero)
{
    const struct page_bar bars[] = {{"a", 0}, {"b", 0}};
    struct chart c = {bars, 2};
    char *html = one_section(fill_chart, &c);
    long w[4];

    ck_assert_uint_eq(bar_widths(html, w, 4), 2);
    ck_assert_int_eq(w[0], 0);
    ck_assert_int_eq(w[1], 0);
    free(html);
}
END_TEST

START_TEST(test_chart_escapes_labels)
{
    const struct page_bar bars[] = {{"<b>&\"'", 1}, {EVIL, 2}};
    struct chart c = {bars, 2};
    char *html = one_section(fill_chart, &c);

    ck_assert_ptr_nonnull(strstr(html, ">&lt;b&gt;&amp;&quot;&#39;</text>"));
    ck_assert_ptr_null(strstr(html, "<script"));
    ck_assert_ptr_null(strstr(html, "<b>"));
    free(html);
}
END_TEST

START_TEST(test_chart_cuts_long_labels)
{
    /* 20 CJK characters (40 columns): cut to fit, on a character's
     * boundary, with an ellipsis */
    const char *name = "张伟张伟张伟张伟张伟张伟张伟张伟张伟张伟";
    const struct page_bar bars[] = {{name, 1}};
    struct chart c = {bars, 1};
    char *html = one_section(fill_chart, &c);
    const char *t = strstr(html, "<text x=\"0\"");

    ck_assert_ptr_nonnull(t);
    t = strchr(t, '>') + 1;
    ck_assert_ptr_nonnull(strstr(t, "张伟张伟张伟张伟\xe2\x80\xa6</text>"));
    ck_assert_ptr_null(strstr(html, name));
    free(html);
}
END_TEST

struct ranged {
    const struct page_bar *bars;
    const struct page_range *ranges;
    size_t n;
};

static void fill_ranged(struct page *p, void *arg)
{
    const struct ranged *c = arg;
    page_bar_chart_ranges(p, "rates", c->bars, c->ranges, c->n, "%");
}

/* The whiskers' (x1, x2), in order; returns how many. */
static size_t whiskers(const char *html, long (*x)[2], size_t max)
{
    size_t n = 0;

    for (const char *r = html;
         n < max && (r = strstr(r, "<line class=\"whisker\" x1=\"")); r++) {
        x[n][0] = atol(r + strlen("<line class=\"whisker\" x1=\""));
        x[n][1] = atol(strstr(r, "x2=\"") + 4);
        n++;
    }
    return n;
}

START_TEST(test_chart_whiskers_scale_with_the_bars)
{
    /* c has no interval (lo > hi); a's top end is the chart's largest */
    const struct page_bar bars[] = {{"a", 10}, {"b", 5}, {EVIL, 2}};
    const struct page_range ranges[] = {{8, 12}, {4, 6}, {1, 0}};
    struct ranged c = {bars, ranges, 3};
    char *html = one_section(fill_ranged, &c);
    const char *rect = strstr(html, "<rect x=\"");
    long w[4], x[4][2], bar_x, end;
    char want[64];

    ck_assert_ptr_nonnull(rect);
    bar_x = atol(rect + strlen("<rect x=\""));
    ck_assert_uint_eq(bar_widths(html, w, 4), 3);
    ck_assert_uint_eq(whiskers(html, x, 4), 2);
    /* one scale for bars and whiskers: 12 is PAGE_BAR_MAX */
    ck_assert_int_eq(w[0], lround(10.0 / 12 * PAGE_BAR_MAX));
    ck_assert_int_eq(w[1], lround(5.0 / 12 * PAGE_BAR_MAX));
    ck_assert_int_eq(x[0][0], bar_x + lround(8.0 / 12 * PAGE_BAR_MAX));
    ck_assert_int_eq(x[0][1], bar_x + PAGE_BAR_MAX);
    ck_assert_int_eq(x[1][0], bar_x + lround(4.0 / 12 * PAGE_BAR_MAX));
    ck_assert_int_eq(x[1][1], bar_x + lround(6.0 / 12 * PAGE_BAR_MAX));
    /* a's value is written past its whisker, not over it */
    end = bar_x + PAGE_BAR_MAX + 5;
    snprintf(want, sizeof want, "<text x=\"%ld\" y=\"15\">10%%</text>", end);
    ck_assert_msg(strstr(html, want), "%s not in %s", want, html);
    /* labels escaped (and cut) as in any chart */
    ck_assert_ptr_nonnull(strstr(html, ">&lt;script&gt;alert("));
    ck_assert_ptr_null(strstr(html, "<script"));
    free(html);
}
END_TEST

START_TEST(test_chart_without_ranges_has_no_whiskers)
{
    const struct page_bar bars[] = {{"a", 10}, {"b", 5}};
    struct ranged c = {bars, NULL, 2};
    char *html = one_section(fill_ranged, &c);
    long w[4];

    ck_assert_uint_eq(bar_widths(html, w, 4), 2);
    ck_assert_int_eq(w[0], PAGE_BAR_MAX);
    ck_assert_ptr_null(strstr(html, "<line"));
    free(html);
}
END_TEST

START_TEST(test_chart_empty)
{
    struct chart c = {NULL, 0};
    char *html = one_section(fill_chart, &c);

    ck_assert_ptr_null(strstr(html, "<svg"));
    ck_assert_ptr_nonnull(strstr(html, "Nothing to draw yet."));
    free(html);
}
END_TEST

static void fill_text(struct page *p, void *arg)
{
    const char *cells[] = {EVIL, "a&b"};

    page_para(p, "note", "run `nudgectl <x>` now " EVIL);
    page_figures_begin(p);
    page_figure(p, EVIL, EVIL);
    page_figures_end(p);
    page_table_begin(p, cells, 2);
    page_table_row(p, cells, 2);
    page_table_end(p);
}

START_TEST(test_page_escapes_everything)
{
    struct page p;
    char *html;

    page_begin(&p, EVIL, EVIL);
    page_section(&p, "s", EVIL);
    fill_text(&p, NULL);
    html = page_end(&p);
    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_null(strstr(html, "<script"));
    ck_assert_ptr_nonnull(strstr(html, "<title>" EVIL_ESCAPED "</title>"));
    ck_assert_ptr_nonnull(strstr(html, "<h2>" EVIL_ESCAPED "</h2>"));
    ck_assert_ptr_nonnull(strstr(html, "<td>" EVIL_ESCAPED "</td>"));
    ck_assert_ptr_nonnull(strstr(html, "<th>a&amp;b</th>"));
    ck_assert_ptr_nonnull(strstr(html, "<dd>" EVIL_ESCAPED "</dd>"));
    /* backticks make code; what is inside is escaped all the same */
    ck_assert_ptr_nonnull(
        strstr(html, "run <code>nudgectl &lt;x&gt;</code> now"));
    /* the page is whole: every section and the document closed */
    ck_assert_ptr_nonnull(strstr(html, "</table></div>\n</section>\n"
                                       "</main>\n</body></html>\n"));
    ck_assert_ptr_nonnull(strstr(html, "name=\"viewport\""));
    ck_assert_ptr_null(strstr(html, "http://"));
    ck_assert_ptr_null(strstr(html, "https://"));
    free(html);
}
END_TEST

static void fill_overdue(struct page *p, void *arg)
{
    supervisor_overdue_write(p, arg, 10 * 3600000LL);
}

START_TEST(test_overdue_section_escapes_names)
{
    struct lead v[2] = {{.id = "s1",
                         .name = EVIL,
                         .stage = "lead",
                         .owner = "o<1>",
                         .phone = "138****5678",
                         .deadline_ms = 3600000,
                         .followup_ms = -1},
                        {.id = "s2",
                         .name = "李华",
                         .stage = "lead",
                         .owner = "o<1>",
                         .deadline_ms = 7200000,
                         .followup_ms = -1}};
    struct lead_list l = {v, 2, 2};
    char *html = one_section(fill_overdue, &l);

    ck_assert_ptr_null(strstr(html, "<script"));
    ck_assert_ptr_nonnull(strstr(html, "<td>" EVIL_ESCAPED "</td>"));
    ck_assert_ptr_nonnull(strstr(html, "<dd>2</dd>"));
    /* one owner, 9 h + 8 h late, two leads */
    ck_assert_ptr_nonnull(strstr(html, ">o&lt;1&gt; (2)</text>"));
    ck_assert_ptr_nonnull(strstr(html, ">17 h</text>"));
    ck_assert_ptr_nonnull(strstr(html, "<td>9h0m</td><td>s1</td>"));
    free(html);
}
END_TEST

/* --- the whole page from Redis ------------------------------------------ */

static struct test_redis server;

static void server_up(void)
{
    memset(&server, 0, sizeof server);
    if (test_redis_start(&server) < 0)
        abort();
}

static void server_down(void)
{
    test_redis_stop(&server);
}

static void cmd(struct rconn *rc, const char *fmt, const char *a, const char *b,
                const char *c)
{
    redisReply *r = rconn_cmd(rc, fmt, a, b, c);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_ne(r->type, REDIS_REPLY_ERROR);
    reply_free(r);
}

/* A student assigned to owner at assigned (ms), with contacts. */
static void lead(struct rconn *rc, const char *id, const char *owner,
                 const char *assigned, const char *phone, const char *email)
{
    char key[128];

    snprintf(key, sizeof key, "slm:student:{%s}", id);
    cmd(rc, "HSET slm:leads %s %s", id, owner, NULL);
    cmd(rc, "HSET %s name %s stage lead", key, EVIL, NULL);
    cmd(rc, "HSET %s phone %s email %s", key, phone, email);
    cmd(rc, "HSET %s assigned_at %s", key, assigned, NULL);
}

START_TEST(test_page_from_redis_masks_contacts)
{
    struct config cfg;
    struct rconn *rc;
    const int64_t now = 10LL * 86400000;
    static const char *const order[] = {
        "<h2>Report</h2>", "<h2>Overdue leads</h2>", "<h2>Queue</h2>",
        "<h2>Channels</h2>", "<h2>Forecast</h2>"};
    struct supervisor_page_src src;
    char *html;
    const char *a, *b;

    ck_assert_int_eq(config_defaults(&cfg), 0); /* followup_within 24h */
    rc = rconn_new_addr(server.address, NULL, 0, NULL);
    ck_assert_ptr_nonnull(rc);
    ck_assert_int_eq(rconn_connect(rc), 0);
    /* 2 days late; 4 days late; on time */
    lead(rc, "100", "w1", "604800000", "+8613812345678",
         "zhang.wei@example.edu");
    lead(rc, "200", "w2", "432000000", "13987654321", "li.hua@school.cn");
    lead(rc, "300", "w1", "863000000", "13711112222", "ok@school.cn");
    cmd(rc, "HSET slm:pause %s %s", "rule:r<1>", "0 alice", NULL);
    src = (struct supervisor_page_src){&cfg, rc, now, 0, NULL};
    html = supervisor_page_build(&src);
    ck_assert_ptr_nonnull(html);
    /* masked, and never in the clear */
    ck_assert_ptr_nonnull(strstr(html, "+86138****5678"));
    ck_assert_ptr_nonnull(strstr(html, "z***@example.edu"));
    ck_assert_ptr_nonnull(strstr(html, "139****4321"));
    ck_assert_ptr_null(strstr(html, "13812345678"));
    ck_assert_ptr_null(strstr(html, "13987654321"));
    ck_assert_ptr_null(strstr(html, "zhang.wei@"));
    ck_assert_ptr_null(strstr(html, "li.hua@"));
    ck_assert_ptr_null(strstr(html, "<script"));
    /* most overdue first; the lead on time is not there */
    ck_assert_ptr_nonnull(a = strstr(html, "<td>200</td>"));
    ck_assert_ptr_nonnull(b = strstr(html, "<td>100</td>"));
    ck_assert(a < b);
    ck_assert_ptr_null(strstr(html, "<td>300</td>"));
    ck_assert_ptr_nonnull(strstr(html, "<dd>2</dd>"));
    /* every section, in order; no channel figures outside nudged */
    a = html;
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        ck_assert_msg((b = strstr(html, order[k])) && b > a, order[k]);
        a = b;
    }
    ck_assert_ptr_nonnull(strstr(html, "only on the live page"));
    /* what is paused, by whom, since when (the epoch, in Shanghai) */
    ck_assert_ptr_nonnull(strstr(html, "<tr><td>rule:r&lt;1&gt;</td><td>"
                                       "1970-01-01 08:00 Asia/Shanghai</td>"
                                       "<td>alice</td></tr>"));
    ck_assert_ptr_nonnull(strstr(html, "<dt>Dead letters</dt><dd>0</dd>"));
    free(html);
    rconn_free(rc);
    config_free(&cfg);
}
END_TEST

START_TEST(test_page_without_redis)
{
    struct config cfg;
    struct supervisor_page_src src;
    char *html;

    ck_assert_int_eq(config_defaults(&cfg), 0);
    src = (struct supervisor_page_src){&cfg, NULL, 0, 0, NULL};
    html = supervisor_page_build(&src);
    ck_assert_ptr_nonnull(html);
    /* each section that reads Redis says it could not; the page is whole */
    ck_assert_ptr_null(strstr(html, "Nothing is paused"));
    ck_assert_ptr_nonnull(strstr(html, "Could not read Redis"));
    ck_assert_ptr_nonnull(strstr(html, "<h2>Forecast</h2>"));
    ck_assert_ptr_nonnull(strstr(html, "</html>\n"));
    free(html);
    config_free(&cfg);
}
END_TEST

START_TEST(test_histogram_quantile)
{
    static const double b[] = {0.1, 1, 10};
    struct metric *m = metric_histogram("test_page_latency", "t", NULL, b, 3);
    uint64_t count;
    double sum;

    ck_assert(metric_histogram_quantile(m, 0.95) == -1);
    for (int i = 0; i < 90; i++)
        metric_observe(m, 0.05);
    for (int i = 0; i < 10; i++)
        metric_observe(m, 5);
    metric_histogram_read(m, &count, &sum);
    ck_assert_uint_eq(count, 100);
    ck_assert(fabs(sum - 54.5) < 1e-6);
    ck_assert(metric_histogram_quantile(m, 0.5) == 0.1);
    ck_assert(metric_histogram_quantile(m, 0.95) == 10);
    metric_observe(m, 100);
    ck_assert(isinf(metric_histogram_quantile(m, 1)));
    ck_assert_ptr_eq(metric_find("test_page_latency", NULL), m);
    ck_assert_ptr_null(metric_find("test_page_latency", "x=\"1\""));
    ck_assert_ptr_null(metric_find("no_such_metric", NULL));
}
END_TEST

int main(void)
{
    TCase *tc, *redis;
    Suite *s = check_suite("page", &tc);

    tcase_add_test(tc, test_chart_scales_bars);
    tcase_add_test(tc, test_chart_all_zero);
    tcase_add_test(tc, test_chart_escapes_labels);
    tcase_add_test(tc, test_chart_cuts_long_labels);
    tcase_add_test(tc, test_chart_empty);
    tcase_add_test(tc, test_chart_whiskers_scale_with_the_bars);
    tcase_add_test(tc, test_chart_without_ranges_has_no_whiskers);
    tcase_add_test(tc, test_page_escapes_everything);
    tcase_add_test(tc, test_overdue_section_escapes_names);
    tcase_add_test(tc, test_page_without_redis);
    tcase_add_test(tc, test_histogram_quantile);
    redis = tcase_create("redis");
    tcase_add_unchecked_fixture(redis, server_up, server_down);
    tcase_add_test(redis, test_page_from_redis_masks_contacts);
    suite_add_tcase(s, redis);
    return check_run(s);
}
