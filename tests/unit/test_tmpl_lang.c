/*
 * test_tmpl_lang.c - the template language, table-driven: each construct,
 * each escaping, defaults, missing values, nested sections, hostile values
 * ({{, }}, CRLF, <script>, NUL, invalid UTF-8, 1 MB), filters, the
 * compiler's errors with their line and column, SMS bodies measured as
 * they are written, and short values escaped by their whole-value test
 * as by the byte loop.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/student.h"
#include "templates/compile.h"
#include "templates/render.h"
#include "tests/support/check_run.h"

#define BIG_LEN (1024 * 1024)

static char *big_value;

/* The values every row sees; "lang" comes from the row. */
static const struct {
    const char *name, *value;
} values[] = {
    {"name", "张三"},
    {"phone", "13812345678"},
    {"score", "612"},
    {"fee", "1234567.5"},
    {"empty", ""},
    {"blank", "  "},
    {"html", "<script>alert(\"x\")</script>"},
    {"braces", "{{name}}"},
    {"closing", "}}"},
    {"crlf", "line1\r\nline2"},
    {"cr", "a\rb"},
    {"ctrl", "a\001b\177c"},
    {"tab", "a\tb"},
    {"bad", "ok\xff\xfe" "end"},
    {"trunc", "\xe4\xb8"},
    {"nul", "ab\0cd"},
    {"md", "*bold* _i_ [x](y) #h"},
    {"json", "say \"hi\" \\ \n"},
    {"day", "2026-09-01"},
    {"ts", "1790000000"},
    {"owner.name", "李老师"},
    {"school.name", "示例大学"},
    {"msg.student_id", "42"},
    {"tag:intent:high", "1"},
};

struct row {
    const char *tmpl;
    enum tmpl_esc esc;
    const char *lang;
    enum tmpl_status status;
    const char *want; /* the output (TMPL_OK) or the reason; NULL: any */
};

static const char *lookup(void *arg, const struct tmpl_ref *ref)
{
    const struct row *r = arg;

    if (strcmp(ref->full, "lang") == 0)
        return r->lang;
    if (strcmp(ref->full, "big") == 0)
        return big_value;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if (strcmp(values[i].name, ref->full) == 0)
            return values[i].value;
    return NULL;
}

#define P ESC_PLAIN
#define OK TMPL_OK
#define MISS TMPL_MISSING
#define BAD TMPL_INVALID

static const struct row render_cases[] = {
    /* a value */
    {"Hello {{name}}!", P, NULL, OK, "Hello 张三!"},
    /* blanks inside the braces do not matter */
    {"{{ name }}", P, NULL, OK, "张三"},
    /* defaults, trimmed; used for missing, empty and blank values */
    {"{{nick|同学}}好", P, NULL, OK, "同学好"},
    {"{{nick | 同学 }}好", P, NULL, OK, "同学好"},
    {"{{empty|默认}}", P, NULL, OK, "默认"},
    {"{{blank|默认}}", P, NULL, OK, "默认"},
    {"{{name|默认}}", P, NULL, OK, "张三"},
    /* an empty default: nothing when missing */
    {"{{nick|}}x", P, NULL, OK, "x"},
    /* missing without a default: the render fails, naming it */
    {"Dear {{nick}}", P, NULL, MISS, "missing nick"},
    {"{{empty}}", P, NULL, MISS, "missing empty"},
    {"{{blank}}", P, NULL, MISS, "missing blank"},
    /* staff, school and message values */
    {"{{owner.name}}", P, NULL, OK, "李老师"},
    {"{{supervisor.name}}", P, NULL, MISS, "missing supervisor.name"},
    {"{{supervisor.name|招生办}}", P, NULL, OK, "招生办"},
    {"{{school.name}}", P, NULL, OK, "示例大学"},
    {"{{msg.student_id}}", P, NULL, OK, "42"},
    /* sections */
    {"{{#score}}分数{{score}}{{/score}}", P, NULL, OK, "分数612"},
    {"{{#nick}}x{{nick}}{{/nick}}ok", P, NULL, OK, "ok"},
    {"{{#empty}}x{{/empty}}ok", P, NULL, OK, "ok"},
    {"{{^nick}}无{{/nick}}", P, NULL, OK, "无"},
    {"{{^score}}无{{/score}}有", P, NULL, OK, "有"},
    /* nested sections */
    {"{{#score}}A{{#name}}B{{^nick}}C{{/nick}}{{/name}}{{/score}}", P, NULL,
     OK, "ABC"},
    {"{{#nick}}A{{#name}}B{{/name}}{{/nick}}Z", P, NULL, OK, "Z"},
    {"{{^nick}}A{{#nick}}B{{/nick}}C{{/nick}}", P, NULL, OK, "AC"},
    /* tag tests */
    {"{{#tag:intent:high}}高{{/tag:intent:high}}{{^tag:x}}无x{{/tag:x}}", P,
     NULL, OK, "高无x"},
    {"{{#tag:x}}有x{{/tag:x}}.", P, NULL, OK, "."},
    /* comments */
    {"a{{! a note for authors }}b", P, NULL, OK, "ab"},
    /* block tags alone on their line take the line with them */
    {"{{#score}}\nline\n{{/score}}\nend", P, NULL, OK, "line\nend"},
    {"  {{#score}}  \r\nx\n  {{/score}}\n", P, NULL, OK, "x\n"},
    {"a\n{{! note }}\nb", P, NULL, OK, "a\nb"},
    {"a {{#score}}b{{/score}} c\n", P, NULL, OK, "a b c\n"},
    /* a literal {{ */
    {"\\{{name}}", P, NULL, OK, "{{name}}"},
    /* values are never template text */
    {"v={{braces}}", P, NULL, OK, "v={{name}}"},
    {"{{closing}}", P, NULL, OK, "}}"},
    /* line breaks: CRLF and CR become LF; never in a header */
    {"{{crlf}}", P, NULL, OK, "line1\nline2"},
    {"{{cr}}", P, NULL, OK, "a\nb"},
    {"{{crlf}}", ESC_HEADER, NULL, OK, "line1  line2"},
    {"{{cr}}", ESC_HEADER, NULL, OK, "a b"},
    {"{{tab}}", ESC_HEADER, NULL, OK, "a b"},
    /* control characters are dropped, TAB kept */
    {"{{ctrl}}", P, NULL, OK, "abc"},
    {"{{tab}}", P, NULL, OK, "a\tb"},
    /* HTML parts escape markup; SMS text does not */
    {"<p>{{html}}</p>", ESC_HTML, NULL, OK,
     "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>"},
    {"{{html}}", P, NULL, OK, "<script>alert(\"x\")</script>"},
    {"{{nick|<b>'&}}", ESC_HTML, NULL, OK, "&lt;b&gt;&#39;&amp;"},
    /* WeCom markdown */
    {"**{{md}}**", ESC_MARKDOWN, NULL, OK,
     "**\\*bold\\* \\_i\\_ \\[x\\]\\(y\\) \\#h**"},
    {"{{html}}", ESC_MARKDOWN, NULL, OK,
     "\\<script\\>alert\\(\"x\"\\)\\</script\\>"},
    /* JSON strings */
    {"{\"t\":\"{{json}}\"}", ESC_JSON, NULL, OK,
     "{\"t\":\"say \\\"hi\\\" \\\\ \\n\"}"},
    {"{{ctrl}}", ESC_JSON, NULL, OK, "a\\u0001b\\u007fc"},
    {"{{crlf}}", ESC_JSON, NULL, OK, "line1\\nline2"},
    /* invalid UTF-8 is replaced by U+FFFD, one per bad byte */
    {"{{bad}}", P, NULL, OK, "ok\xef\xbf\xbd\xef\xbf\xbd" "end"},
    {"{{trunc}}", P, NULL, OK, "\xef\xbf\xbd\xef\xbf\xbd"},
    {"{{bad}}", ESC_HTML, NULL, OK, "ok\xef\xbf\xbd\xef\xbf\xbd" "end"},
    /* a C string ends at its NUL: the rest of such a value is not sent */
    {"{{nul}}", P, NULL, OK, "ab"},
    /* a 1 MB value is refused with the reason */
    {"{{big}}", P, NULL, BAD,
     "the value of big is too long: 1048576 bytes, at most 65536"},
    {"{{big|x}}", ESC_HTML, NULL, BAD,
     "the value of big is too long: 1048576 bytes, at most 65536"},
    /* filters */
    {"{{mask phone}}", P, NULL, OK, "138****5678"},
    {"{{number fee}}", P, NULL, OK, "1,234,567.5"},
    {"{{number score}}", P, NULL, OK, "612"},
    {"{{number name}}", P, NULL, BAD, "the value of name is not a number"},
    {"{{date day}}", P, NULL, OK, "2026年9月1日"},
    {"{{date day}}", P, "en", OK, "1 September 2026"},
    {"{{date ts}}", P, "zh-CN", OK, "2026年9月21日"},
    {"{{date name}}", P, NULL, BAD,
     "the value of name is not a date (YYYY-MM-DD or unix seconds)"},
    {"{{date nick|待定}}", P, NULL, OK, "待定"},
    {"{{date nick}}", P, NULL, MISS, "missing nick"},
};

START_TEST(test_render)
{
    const struct row *r = &render_cases[_i];
    struct tmpl_pos pos = {"t", 1, 1};
    struct attrs school = {0};
    struct diag d = {0};
    struct tmpl_prog *p;
    struct tbuf out = {0};
    char why[256] = "";
    enum tmpl_status st;

    attrs_set(&school, "name", "示例大学");
    attrs_sort(&school);
    p = tmpl_compile(r->tmpl, strlen(r->tmpl), &pos, &school, &d);
    ck_assert_msg(p != NULL, "row %d: %s", _i, diag_first(&d));
    st = tmpl_exec(p, r->esc, lookup, (void *)r, &out, why, sizeof why);
    tbuf_terminate(&out);
    ck_assert_msg(st == r->status, "row %d (%s): status %d, want %d (%s)", _i,
                  r->tmpl, st, r->status, why);
    if (st == TMPL_OK)
        ck_assert_msg(strcmp(out.p, r->want) == 0, "row %d: got \"%s\"", _i,
                      out.p);
    else
        ck_assert_str_eq(why, r->want);
    tbuf_free(&out);
    tmpl_prog_free(p);
    attrs_clear(&school);
    diag_clear(&d);
}
END_TEST

static char deep[32 * 8 + 64];

static const struct {
    const char *tmpl;
    const char *errors; /* every line, in order */
} error_cases[] = {
    /* an unclosed tag, at its {{ */
    {"Hi {{name", "t:1:4: unclosed \"{{\": expected \"}}\"\n"},
    /* columns count characters, not bytes */
    {"第一行\n你好{{x", "t:2:3: unclosed \"{{\": expected \"}}\"\n"},
    {"{{}}", "t:1:1: empty placeholder: put a name between {{ and }}\n"},
    {"{{ | x}}", "t:1:1: empty placeholder: put a name between {{ and }}\n"},
    {"{{na!me}}", "t:1:1: invalid name \"na!me\": use letters, digits, _ "
                  "and -, after owner., supervisor., school. or msg.\n"},
    {"{{foo.bar}}", "t:1:1: unknown prefix \"foo.\" in \"foo.bar\": use "
                    "owner., supervisor., school. or msg.\n"},
    {"{{msg.nope}}", "t:1:1: unknown message value \"msg.nope\": use "
                     "msg.unsubscribe_url, msg.optout_text, msg.student_id "
                     "or msg.template\n"},
    {"{{school.motto}}",
     "t:1:1: \"school.motto\" is not in the [school] section of the "
     "config\n"},
    {"{{tag:x}}", "t:1:1: a tag is a test, not a value: use "
                  "{{#tag:x}}...{{/tag:x}}\n"},
    {"{{bogus name}}",
     "t:1:1: unknown filter \"bogus\": use mask, date or number\n"},
    {"ab{{#a}}x", "t:1:3: section \"a\" is never closed: add {{/a}}\n"},
    {"{{/a}}", "t:1:1: \"{{/a}}\" closes no open section\n"},
    {"{{#a}}\n  {{/b}}",
     "t:2:3: \"{{/b}}\" does not close \"a\", opened at 1:1\n"
     "t:1:1: section \"a\" is never closed: add {{/a}}\n"},
    {"{{#}}", "t:1:1: a section needs a name: {{#name}}...{{/name}}\n"},
    {"{{a{{b}}", "t:1:4: \"{{\" inside a placeholder: close the "
                 "placeholder with \"}}\" first\n"},
    {"{{#tag:}}{{/tag:}}", "t:1:1: invalid name \"tag:\": use letters, "
                           "digits, _ and -, after owner., supervisor., "
                           "school. or msg.\n"
                           "t:1:10: \"{{/tag:}}\" closes no open section\n"},
    /* several errors: all reported */
    {"{{}} {{/x}}", "t:1:1: empty placeholder: put a name between {{ and "
                    "}}\nt:1:6: \"{{/x}}\" closes no open section\n"},
    /* 33 nested sections (built at start) */
    {deep, "t:1:225: sections nested deeper than 32\n"},
};

START_TEST(test_errors)
{
    struct tmpl_pos pos = {"t", 1, 1};
    struct attrs school = {0};
    struct diag d = {0};
    struct tmpl_prog *p;
    char got[4096] = "";
    size_t len = 0;

    attrs_set(&school, "name", "示例大学");
    attrs_sort(&school);
    p = tmpl_compile(error_cases[_i].tmpl, strlen(error_cases[_i].tmpl), &pos,
                     &school, &d);
    ck_assert_msg(p == NULL, "row %d compiled", _i);
    for (size_t i = 0; i < d.n; i++)
        len += (size_t)snprintf(got + len, sizeof got - len, "%s\n",
                                d.v[i].text);
    if (error_cases[_i].tmpl == deep) { /* only the first line matters */
        ck_assert_ptr_nonnull(strstr(got, error_cases[_i].errors));
    } else {
        ck_assert_str_eq(got, error_cases[_i].errors);
    }
    attrs_clear(&school);
    diag_clear(&d);
}
END_TEST

/* The output op count is what the compiler promises: text merged, one op
 * per tag. */
START_TEST(test_compact)
{
    struct tmpl_pos pos = {"t", 1, 1};
    struct diag d = {0};
    const char *t = "a\\{{b{{x}}c{{#y}}d{{/y}}";
    struct tmpl_prog *p = tmpl_compile(t, strlen(t), &pos, NULL, &d);

    ck_assert_ptr_nonnull(p);
    /* "a{{b", x, "c", #y, "d" */
    ck_assert_int_eq(p->nops, 5);
    ck_assert_int_eq(p->ops[0].kind, OP_TEXT);
    ck_assert_int_eq(p->ops[0].len, 4);
    ck_assert_int_eq(p->ops[3].end, 5);
    ck_assert_int_eq(p->nrefs, 2);
    tmpl_prog_free(p);
}
END_TEST

/* SMS bodies are measured as they are written (render.h): text runs
 * counted when compiled, values and the opt-out text as appended. The
 * sum must be tmpl_sms_measure() of the finished text, for every row
 * above and these: long GSM-7 with escape pairs near part ends, UCS-2,
 * emoji, sections hidden and shown, defaults, filters. */
static const char *const sms_templates[] = {
    "{{name}}",
    ("Dear student, your interview is on {{date day}}. Reply {YES} or [NO] "
     "to this message; fees are {{number fee}} EUR (or 5 €) ~ see the site "
     "for details about the programme and the campus visit day. {{nick|-}}"),
    ("{{#tag:intent:high}}High intent: {{score}} points {{/tag:intent:high}}"
     "{{^tag:intent:high}}never shown {{name}}{{/tag:intent:high}}"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaa{{school.name}}"),
    ("【{{school.name}}】{{name}}同学您好！{{owner.name}}老师邀请您参加体验课"
     "，地点在图书馆报告厅，活动免费并提供午餐。如需预约请回复本短信。"
     "{{mask phone}}"),
    ("\xf0\x9f\x98\x80 {{name}} \xf0\x9f\x8e\x93 aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa{{html}}{{crlf}}"),
    "{{bad}}{{trunc}}{{ctrl}}{{cr}}{{tab}} \\{{ literal }} {{braces}}",
};

static const char *const optouts[] = {NULL, "拒收请回复R", " Reply STOP",
                                      " {STOP}", "\xf0\x9f\x9a\xab"};

/* Renders tmpl with the counts (text counted when compiled or not) after
 * a recipient, adds an opt-out, and compares with measuring it all. */
static void check_counted(const char *tmpl, const struct attrs *school,
                          int precount)
{
    static const struct row row = {NULL, ESC_PLAIN, NULL, TMPL_OK, NULL};
    struct tmpl_pos pos = {"t", 1, 1};
    struct diag d = {0};
    struct tmpl_prog *p = tmpl_compile(tmpl, strlen(tmpl), &pos, school, &d);
    char why[256];

    ck_assert_msg(p != NULL, "%s: %s", tmpl, diag_first(&d));
    if (precount)
        ck_assert_int_eq(tmpl_prog_count_sms(p), 0);
    for (size_t o = 0; o < sizeof optouts / sizeof optouts[0]; o++) {
        struct tbuf out = {0};
        struct sms_count c = {0};
        struct sms_info got, want;
        size_t body, at;

        tbuf_adds(&out, "+8613800000042"); /* read before a short value */
        tbuf_addc(&out, '\0');
        body = out.len;
        if (tmpl_exec_sms(p, lookup, (void *)&row, &out, &c, why,
                          sizeof why) != TMPL_OK) {
            tbuf_free(&out);
            continue; /* a missing value: nothing is measured */
        }
        if (optouts[o]) {
            at = out.len;
            tbuf_adds(&out, optouts[o]);
            tmpl_sms_count_at(&c, out.p, at, out.len);
        }
        tmpl_sms_finish(&c, out.p + body, out.len - body, &got);
        tmpl_sms_measure(out.p + body, out.len - body, &want);
        ck_assert_msg(got.encoding == want.encoding &&
                          got.chars == want.chars &&
                          got.units == want.units &&
                          got.segments == want.segments,
                      "%s + %s: counted %d %zu %zu %d, measured %d %zu %zu %d",
                      tmpl, optouts[o] ? optouts[o] : "-", got.encoding,
                      got.chars, got.units, got.segments, want.encoding,
                      want.chars, want.units, want.segments);
        tbuf_free(&out);
    }
    tmpl_prog_free(p);
    diag_clear(&d);
}

START_TEST(test_sms_counted)
{
    struct attrs school = {0};
    size_t nrender = sizeof render_cases / sizeof render_cases[0];
    size_t nsms = sizeof sms_templates / sizeof sms_templates[0];

    attrs_set(&school, "name", "示例大学");
    attrs_sort(&school);
    for (int precount = 0; precount < 2; precount++) {
        for (size_t i = 0; i < nrender; i++)
            if (render_cases[i].status == TMPL_OK &&
                !strstr(render_cases[i].tmpl, "big"))
                check_counted(render_cases[i].tmpl, &school, precount);
        for (size_t i = 0; i < nsms; i++)
            check_counted(sms_templates[i], &school, precount);
    }
    attrs_clear(&school);
}
END_TEST

/* Short values are tested whole before the byte loop (escape.c): the
 * answer must be the loop's. A value with 48 "a" after it is longer
 * than the whole test takes, and "a" is copied as it is in every mode
 * and ends no sequence: so escaping v and then the a's must give
 * escape(v) and the a's. Random values of every short length, of
 * pieces that are clean, special, control, or broken UTF-8. */
START_TEST(test_escape_short_values)
{
    static const char *const pieces[] = {
        "a", " ", "~", "你", "\xef\xbc\x88", "\xe0\xa4\x85", "\xed\x9f\xbf",
        "\xe0\x80\x80", "\xed\xa0\x80", "\xc3\xa9", "\xc2\x85",
        "\xf0\x9f\x98\x80", "\xe4\xb8", "\xb8", "\xff", "\n", "\t", "\r",
        "\r\n", "\x01", "\x7f", "&", "<", "\"", "'", "\\", "*", "\xe2\x82\xac"};
    const size_t np = sizeof pieces / sizeof pieces[0];
    char v[128], *tail, *exact;
    unsigned seed = 7;

    memset(v, 0, sizeof v);
    for (int t = 0; t < 20000; t++) {
        size_t n = 0, want = (size_t)(rand_r(&seed) % 52);
        enum tmpl_esc esc = (enum tmpl_esc)(t % ESC_COUNT);
        struct tbuf a = {0}, b = {0};

        while (n < want) {
            const char *p = pieces[rand_r(&seed) % np];
            size_t len = strlen(p);
            if (n + len > want)
                break;
            memcpy(v + n, p, len);
            n += len;
        }
        tail = v + n;
        memset(tail, 'a', 48);
        /* a copy of just n bytes: a read past it is a sanitizer error */
        exact = malloc(n ? n : 1);
        memcpy(exact, v, n);
        tmpl_esc_append(&a, esc, exact, n);
        tmpl_esc_append(&b, esc, v, n + 48);
        free(exact);
        ck_assert_msg(b.len == a.len + 48 &&
                          (a.len == 0 || memcmp(a.p, b.p, a.len) == 0),
                      "mode %d, value of %zu bytes: the short test differs",
                      (int)esc, n);
        tbuf_free(&a);
        tbuf_free(&b);
    }
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("templates-language", &tc);
    int status;
    size_t n = 0;

    big_value = malloc(BIG_LEN + 1);
    memset(big_value, 'a', BIG_LEN);
    big_value[BIG_LEN] = '\0';
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "{{#a%d}}", i % 10);
    tcase_add_loop_test(tc, test_render, 0,
                        sizeof render_cases / sizeof render_cases[0]);
    tcase_add_loop_test(tc, test_errors, 0,
                        sizeof error_cases / sizeof error_cases[0]);
    tcase_add_test(tc, test_compact);
    tcase_add_test(tc, test_sms_counted);
    tcase_add_test(tc, test_escape_short_values);
    status = check_run(s);
    free(big_value);
    return status;
}
