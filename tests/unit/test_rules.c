/*
 * test_rules.c - the rule language: tables of sources with the exact
 * messages the parser and checker give (error rows included), and of
 * conditions against students (missing and non-numeric attributes are
 * false; Unicode tags and values work), plus the trigger index.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules/compile.h"
#include "rules/delivery.h"
#include "rules/eval.h"
#include "rules/parser.h"
#include "rules/schedule.h"
#include "tests/support/check_run.h"

#define STAGES "stages lead contacted consulting applied admitted\n"

static void make_env(struct rules_env *env)
{
    memset(env, 0, sizeof *env);
    rules_env_add_channel(env, "sms", "sms");
    rules_env_add_channel(env, "email", "email");
    rules_env_add_channel(env, "wecom", "wecom");
    rules_env_add_template(env, "hello", TMPL_PART_SMS | TMPL_PART_EMAIL);
    rules_env_add_template(env, "reminder", TMPL_PART_WECOM);
    env->now_ms = 1795000000000LL; /* 2026-11-18 */
}

/* Parses and checks src as t.rules; returns every message, one a line.
 * The caller frees. When set is not NULL, the compiled set goes there. */
static char *check_src(const char *src, struct ruleset **set)
{
    struct diag d = {0};
    struct rules_env env;
    struct rule_file **files = calloc(1, sizeof *files);
    struct ruleset *rs = NULL;
    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&out, &len);

    make_env(&env);
    files[0] = rule_parse("t.rules", src, strlen(src), &d);
    ck_assert_ptr_nonnull(files[0]);
    if (d.errors == 0) {
        ruleset_build(files, 1, &env, &rs, &d);
    } else {
        rules_check(files, 1, &env, &d);
        rule_file_free(files[0]);
        free(files);
    }
    rules_diag_sort(&d, 0);
    diag_print(&d, fp);
    fclose(fp);
    diag_clear(&d);
    rules_env_free(&env);
    if (set)
        *set = rs;
    else
        ruleset_free(rs);
    return out;
}

/* --- parsing and checking ------------------------------------------------ */

static const struct {
    const char *src;
    const char *expect; /* "" when clean */
} check_cases[] = {
    /* a clean rule with every step */
    {STAGES "rule a {\n on stage consulting\n when score >= 600\n"
            " limit 1 per 7d\n wait 2h\n send sms hello\n"
            " stop unless stage == consulting\n tag add \"x\"\n"
            " tag remove \"y\"\n assign team t\n"
            " notify owner via wecom reminder\n"
            " escalate level 2 via email hello\n}\n",
     ""},
    /* assign by load, and on the next line a step of its own */
    {STAGES "rule a {\n on created\n assign team t by load\n"
            " assign team t\n stop\n}\n",
     ""},
    /* `by` wants `load` */
    {STAGES "rule a {\n on created\n assign team t by size\n}\n",
     "t.rules:4:19: expected \"load\" (assign team NAME by load), found "
     "\"size\"\n"},
    /* misspelt stage: a hint */
    {STAGES "rule a {\n on stage consultng\n send sms hello\n}\n",
     "t.rules:3:11: unknown stage \"consultng\": did you mean "
     "\"consulting\"?\n"},
    /* misspelt step keyword: a hint, swapped letters count as one edit */
    {STAGES "rule a {\n on created\n sned sms hello\n}\n",
     "t.rules:4:2: unknown step \"sned\": did you mean \"send\"?\n"},
    /* unknown channel and template, with hints */
    {STAGES "rule a {\n on created\n send smss hello\n send sms helo\n}\n",
     "t.rules:4:7: unknown channel \"smss\" (no [channel.smss] in the "
     "config): did you mean \"sms\"?\n"
     "t.rules:5:11: unknown template \"helo\": did you mean \"hello\"?\n"},
    /* a template without the channel's part */
    {STAGES "rule a {\n on created\n send wecom hello\n}\n",
     "t.rules:4:13: template \"hello\" has no wecom part for channel "
     "\"wecom\": add hello.wecom\n"},
    /* duplicate rule names */
    {STAGES "rule a {\n on created\n send sms hello\n}\n"
            "rule a {\n on created\n send sms hello\n}\n",
     "t.rules:6:6: duplicate rule \"a\" (first defined at t.rules:2)\n"},
    /* a regex PCRE2 rejects: the column points into the pattern */
    {STAGES "rule a {\n on created\n when tag matches /ab(c/\n"
            " send sms hello\n}\n",
     "t.rules:4:24: invalid regular expression /ab(c/: missing closing "
     "parenthesis\n"},
    /* steps after an unconditional stop; a wait at the end */
    {STAGES "rule a {\n on created\n stop\n send sms hello\n}\n"
            "rule b {\n on created\n send sms hello\n wait 1h\n}\n",
     "t.rules:5:2: step after an unconditional \"stop\" (line 4) is never "
     "reached\n"
     "t.rules:10:2: \"wait\" at the end of rule \"b\" does nothing: add a "
     "step after it or remove it\n"},
    /* escalate level 0 */
    {STAGES "rule a {\n on assigned\n escalate level 0 via sms hello\n}\n",
     "t.rules:4:17: escalate level 0: levels start at 1 (the owner's "
     "supervisor)\n"},
    /* limit without a window */
    {STAGES "rule a {\n on created\n limit 1\n send sms hello\n}\n",
     "t.rules:4:2: limit needs a window: \"limit 1 per DURATION\" (limit 1 "
     "per 7d)\n"},
    /* schedules that can never fire */
    {STAGES "rule a {\n every monday 25:00\n send sms hello\n}\n"
            "rule b {\n at 2026-02-30 09:00\n send sms hello\n}\n"
            "rule c {\n at 2020-01-01 09:00\n send sms hello\n}\n",
     "t.rules:3:15: time 25:00 does not exist: the rule can never fire (use "
     "00:00 to 23:59)\n"
     "t.rules:7:5: date 2026-02-30 does not exist: the rule can never fire\n"
     "t.rules:11:5: 2020-01-01 09:00 is in the past: the rule can never "
     "fire\n"},
    /* unknown day, with a hint */
    {STAGES "rule a {\n every mondya 09:00\n send sms hello\n}\n",
     "t.rules:3:8: unknown day \"mondya\" after \"every\": did you mean "
     "\"monday\"?\n"},
    /* a bad duration */
    {STAGES "rule a {\n on created\n wait 3x\n send sms hello\n}\n",
     "t.rules:4:7: invalid duration \"3x\" in wait: use s, m, h, d or w\n"},
    /* a missing "and": one message, the next steps still parse */
    {STAGES "rule a {\n on created\n when score > 1 tag \"x\"\n"
            " send smz hello\n}\n",
     "t.rules:4:17: expected \"and\", \"or\" or the end of the line after "
     "the condition, found \"tag\"\n"
     "t.rules:5:7: unknown channel \"smz\" (no [channel.smz] in the "
     "config): did you mean \"sms\"?\n"},
    /* a string compared with < */
    {STAGES "rule a {\n on created\n when score < \"high\"\n"
            " send sms hello\n}\n",
     "t.rules:4:15: \"<\" compares numbers: \"high\" is not a number\n"},
    /* no trigger, no steps */
    {STAGES "rule a {\n when score > 1\n}\n",
     "t.rules:2:6: rule \"a\" has no trigger: add \"on EVENT\", \"every DAY "
     "HH:MM\" or \"at YYYY-MM-DD HH:MM\"\n"
     "t.rules:2:6: rule \"a\" has no steps\n"},
    /* unterminated string and missing brace */
    {STAGES "rule a {\n on tag \"x\n send sms hello\n",
     "t.rules:2:6: rule \"a\" is missing its closing \"}\"\n"
     "t.rules:3:9: unterminated string: add the closing \"\n"},
    /* Unicode: columns count characters */
    {STAGES "rule a {\n on tag \"意向:高\"\n when 省份 == \"新疆\" and 阶段 == "
            "x\n send sms hellp\n}\n",
     "t.rules:5:11: unknown template \"hellp\": did you mean \"hello\"?\n"},
    /* nesting deeper than the limit is an error, not a crash */
    {STAGES "rule a {\n on created\n when "
            "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
            "((((((a)))))))))))))))))))))))))))))))))))))))))))))))))))))))))"
            ")))))))\n send sms hello\n}\n",
     "t.rules:4:71: condition nested deeper than 64 levels\n"},
    /* invalid UTF-8 */
    {STAGES "rule a {\n on tag \"\xff\"\n send sms hello\n}\n",
     "t.rules:3:10: invalid UTF-8 byte 0xff\n"},
};

START_TEST(test_check)
{
    char *out = check_src(check_cases[_i].src, NULL);
    ck_assert_msg(strcmp(out, check_cases[_i].expect) == 0,
                  "case %d:\n got: %s\nwant: %s", _i, out,
                  check_cases[_i].expect);
    free(out);
}
END_TEST

/* --- conditions ---------------------------------------------------------- */

struct kv {
    const char *name, *value;
};

static const struct {
    const char *cond;
    struct kv attrs[4];
    const char *tags[3];
    int want;
} eval_cases[] = {
    /* numbers */
    {"score >= 600", {{"score", "600"}}, {0}, 1},
    {"score >= 600", {{"score", "599.5"}}, {0}, 0},
    /* missing and non-numeric attributes are false, whatever the op */
    {"score >= 600", {{"name", "x"}}, {0}, 0},
    {"score < 600", {{"name", "x"}}, {0}, 0},
    {"score != 600", {{"name", "x"}}, {0}, 0},
    {"score < 600", {{"score", "abc"}}, {0}, 0},
    {"score >= 600", {{"score", "inf"}}, {0}, 0},
    {"score == 600", {{"score", ""}}, {0}, 0},
    {"not score >= 600", {{"score", "abc"}}, {0}, 1},
    /* strings, lists, regexes */
    {"subject == \"science\"", {{"subject", "science"}}, {0}, 1},
    {"subject != \"science\"", {{"subject", "arts"}}, {0}, 1},
    {"subject != \"science\"", {{"name", "x"}}, {0}, 0},
    {"province in (新疆, 西藏)", {{"province", "西藏"}}, {0}, 1},
    {"province in (新疆, 西藏)", {{"province", "北京"}}, {0}, 0},
    {"score in (600, 610)", {{"score", "610.0"}}, {0}, 1},
    {"province matches /^新/", {{"province", "新疆"}}, {0}, 1},
    {"name matches /^li/i", {{"name", "LiLei"}}, {0}, 1},
    /* presence */
    {"owner", {{"owner", "s1"}}, {0}, 1},
    {"not owner", {{"owner", ""}}, {0}, 1},
    {"not owner", {{"name", "x"}}, {0}, 1},
    /* stages */
    {"stage == consulting", {{"stage", "consulting"}}, {0}, 1},
    {"stage != consulting", {{"stage", "lead"}}, {0}, 1},
    {"stage != consulting", {{"name", "x"}}, {0}, 0},
    {"stage in (lead, contacted)", {{"stage", "contacted"}}, {0}, 1},
    {"stage in (lead, contacted)", {{"stage", "nonsense"}}, {0}, 0},
    /* tags, Unicode included */
    {"tag \"意向:高\"", {{0}}, {"意向:高"}, 1},
    {"tag \"意向:高\"", {{0}}, {"意向:低"}, 0},
    {"tag matches /^region:(xinjiang|xizang)$/",
     {{0}},
     {"a", "region:xizang"},
     1},
    {"tag matches /^地区:/", {{0}}, {"地区:青海"}, 1},
    {"tag matches /^region:/", {{0}}, {0}, 0},
    /* logic and precedence: and binds tighter than or */
    {"tag \"a\" or tag \"b\" and tag \"c\"", {{0}}, {"a"}, 1},
    {"(tag \"a\" or tag \"b\") and tag \"c\"", {{0}}, {"a"}, 0},
    {"not (tag \"a\" or tag \"b\")", {{0}}, {"c"}, 1},
    /* time in stage: stage_at in unix seconds; now is 1000000 s */
    {"time_in_stage >= 3d", {{"stage_at", "700000"}}, {0}, 1},
    {"time_in_stage >= 3d", {{"stage_at", "900000"}}, {0}, 0},
    {"time_in_stage >= 3d", {{"name", "x"}}, {0}, 0},
    /* time since the last touch: last_touch_at, unix seconds */
    {"time_since_touch > 1d", {{"last_touch_at", "900000"}}, {0}, 1},
    {"time_since_touch > 1d", {{"last_touch_at", "950000"}}, {0}, 0},
    {"time_since_touch > 1d", {{"name", "x"}}, {0}, 0},
    /* followed_up is false unless the run says so */
    {"followed_up", {{0}}, {0}, 0},
};

static struct student *make_student(const struct kv *attrs,
                                    const char *const *tags, size_t ntags)
{
    struct student *s = student_new("1");

    for (size_t i = 0; i < 4 && attrs[i].name; i++)
        attrs_set(&s->attrs, attrs[i].name, attrs[i].value);
    for (size_t i = 0; i < ntags && tags[i]; i++)
        strset_add(&s->tags, tags[i]);
    student_seal(s);
    return s;
}

START_TEST(test_eval)
{
    char src[1024], *out, why[256];
    struct ruleset *set;
    struct rview v;
    struct student *s;
    int got;

    snprintf(src, sizeof src,
             STAGES "rule a {\n on created\n when %s\n send sms hello\n}\n",
             eval_cases[_i].cond);
    out = check_src(src, &set);
    ck_assert_msg(set != NULL, "case %d: %s", _i, out);
    free(out);
    s = make_student(eval_cases[_i].attrs, eval_cases[_i].tags, 3);
    ck_assert_int_eq(rview_init(&v, set), 0);
    rview_load(&v, s, 1000000000LL);
    got = rule_cond_explain(&set->rules[0], set->rules[0].when, &v, why,
                            sizeof why);
    ck_assert_msg(got == eval_cases[_i].want, "case %d (%s): got %d (%s)", _i,
                  eval_cases[_i].cond, got, why);
    ck_assert_int_eq(rule_when(&set->rules[0], &v), got);
    /* what holds may hold: the consumer never skips a student's tags
     * where the whole `when` would have held */
    if (got)
        ck_assert_msg(rule_when_may_hold(&set->rules[0], &v), "case %d", _i);
    rview_free(&v);
    student_free(s);
    ruleset_free(set);
}
END_TEST

/* Whether a `when` may hold before the tags are read: false only where
 * the rest of it decides, in Kleene's logic (the tags unknown). */
static const struct {
    const char *cond;
    struct kv attrs[4];
    int want;
} may_hold_cases[] = {
    {"score >= 600 and tag \"a\"", {{"score", "580"}}, 0},
    {"score >= 600 and tag \"a\"", {{"score", "650"}}, 1},
    {"tag \"a\" and score >= 600", {{"score", "580"}}, 0},
    {"tag \"a\" or score >= 600", {{"score", "580"}}, 1},
    {"tag \"a\" or score >= 600", {{"score", "650"}}, 1},
    {"not tag \"a\" and score >= 600", {{"score", "580"}}, 0},
    {"not (tag \"a\" or score < 600)", {{"score", "580"}}, 0},
    {"not (tag \"a\" and score < 600)", {{"score", "650"}}, 1},
    {"not (tag \"a\" and score < 600)", {{"score", "580"}}, 1},
    {"tag matches /^r/ and stage == consulting", {{"stage", "lead"}}, 0},
    {"tag matches /^r/ and stage == consulting", {{"stage", "consulting"}}, 1},
    {"score >= 600", {{"score", "580"}}, 0},
    {"score >= 600", {{"score", "650"}}, 1},
    {"tag \"a\"", {{0}}, 1},
    {"not tag \"a\"", {{0}}, 1},
};

START_TEST(test_may_hold)
{
    char src[1024], *out;
    struct ruleset *set;
    struct rview v;
    struct student *s;
    /* tags that would decide the other way, to show they are not read */
    const char *tags[] = {"a", "region:x"};

    snprintf(src, sizeof src,
             STAGES "rule a {\n on created\n when %s\n send sms hello\n}\n",
             may_hold_cases[_i].cond);
    out = check_src(src, &set);
    ck_assert_msg(set != NULL, "case %d: %s", _i, out);
    free(out);
    for (size_t ntags = 0; ntags <= 2; ntags += 2) {
        s = make_student(may_hold_cases[_i].attrs, tags, ntags);
        ck_assert_int_eq(rview_init(&v, set), 0);
        rview_load(&v, s, 1000000000LL);
        ck_assert_msg(rule_when_may_hold(&set->rules[0], &v) ==
                          may_hold_cases[_i].want,
                      "case %d (%s), %zu tags", _i, may_hold_cases[_i].cond,
                      ntags);
        rview_free(&v);
        student_free(s);
    }
    ruleset_free(set);
}
END_TEST

/* An explanation names the part that failed and the student's value. */
START_TEST(test_explain)
{
    char *out, why[256];
    struct ruleset *set;
    struct rview v;
    struct kv attrs[4] = {{"score", "580"}};
    const char *tags[] = {"intent:high"};
    struct student *s = make_student(attrs, tags, 1);

    out = check_src(STAGES "rule a {\n on created\n when tag \"intent:high\" "
                           "and score >= 600\n send sms hello\n}\n",
                    &set);
    ck_assert_ptr_nonnull(set);
    free(out);
    rview_init(&v, set);
    rview_load(&v, s, 0);
    ck_assert_int_eq(rule_cond_explain(&set->rules[0], set->rules[0].when, &v,
                                       why, sizeof why),
                     0);
    ck_assert_str_eq(why, "score >= 600 (score is \"580\")");
    rview_free(&v);
    student_free(s);
    ruleset_free(set);
}
END_TEST

/* --- the trigger index ------------------------------------------------------
 */

START_TEST(test_triggers)
{
    char *out;
    struct ruleset *set;
    struct event ev;
    struct event_reject rej;
    char kv1[] = "from=lead", kv2[] = "to=consulting", kv3[] = "tag=x";
    char *stage_kv[] = {kv1, kv2}, *tag_kv[] = {kv3};
    size_t idx[8];

    out =
        check_src(STAGES "rule a {\n on stage consulting\n send sms hello\n}\n"
                         "rule b {\n on stage lead\n send sms hello\n}\n"
                         "rule c {\n on tag \"x\"\n send sms hello\n}\n"
                         "rule d {\n every day 09:00\n send sms hello\n}\n"
                         "rule e {\n on event visited\n send sms hello\n}\n",
                  &set);
    ck_assert_msg(set != NULL, "%s", out);
    free(out);
    ck_assert_int_eq(event_from_args(&ev, "stage", "1", stage_kv, 2, &rej), 0);
    ck_assert_int_eq(ruleset_triggered(set, &ev, idx, 8), 1);
    ck_assert_str_eq(set->rules[idx[0]].name, "a");
    ck_assert_int_eq(event_from_args(&ev, "tag", "1", tag_kv, 1, &rej), 0);
    ck_assert_int_eq(ruleset_triggered(set, &ev, idx, 8), 1);
    ck_assert_str_eq(set->rules[idx[0]].name, "c");
    ck_assert_int_eq(event_from_args(&ev, "created", "1", NULL, 0, &rej), 0);
    ck_assert(!ruleset_wants(set, &ev));
    ck_assert_int_eq(event_from_args(&ev, "visited", "1", NULL, 0, &rej), 0);
    ck_assert_int_eq(ruleset_triggered(set, &ev, idx, 8), 1);
    ck_assert_str_eq(set->rules[idx[0]].name, "e");
    ck_assert_int_eq(set->nscheduled, 1);
    ruleset_free(set);
}
END_TEST

/* The DESIGN.md examples (etc/rules) check clean against etc/templates. */
START_TEST(test_examples)
{
    struct diag d = {0};
    struct rules_env env;
    struct ruleset *set = NULL;

    memset(&env, 0, sizeof env);
    rules_env_add_channel(&env, "sms", "sms");
    rules_env_add_channel(&env, "email", "email");
    rules_env_add_channel(&env, "wecom", "wecom");
    rules_env_scan_templates(&env, "etc/templates");
    ruleset_load_dir("etc/rules", &env, &set, &d);
    diag_print(&d, stderr);
    ck_assert_int_eq(d.errors, 0);
    ck_assert_ptr_nonnull(set);
    ck_assert_int_eq(set->nrules, 5);
    ck_assert_ptr_nonnull(ruleset_find(set, "lead_followup_sla"));
    ruleset_free(set);
    rules_env_free(&env);
    diag_clear(&d);
}
END_TEST

/* --- schedules (TZ=UTC) ------------------------------------------------------
 */

static const struct {
    const char *trigger; /* a rule's trigger line */
    const char *after;   /* local time */
    const char *next;    /* "" when never */
    const char *prev;    /* the latest firing at or before `after` */
} sched_cases[] = {
    /* 2026-11-22 is a Sunday */
    {"every monday 09:00", "2026-11-22 12:00", "2026-11-23 09:00",
     "2026-11-16 09:00"},
    {"every monday 09:00", "2026-11-23 09:00", "2026-11-30 09:00",
     "2026-11-23 09:00"},
    {"every day 18:30", "2026-11-22 18:29", "2026-11-22 18:30",
     "2026-11-21 18:30"},
    {"every sunday 00:00", "2026-11-22 00:00", "2026-11-29 00:00",
     "2026-11-22 00:00"},
    {"at 2026-12-01 08:00", "2026-11-22 12:00", "2026-12-01 08:00", ""},
    /* an `at` in the past never fires again */
    {"at 2026-11-01 08:00", "2026-11-22 12:00", "", "2026-11-01 08:00"},
};

START_TEST(test_schedule)
{
    char src[512], *out, buf[32];
    struct ruleset *set;
    int64_t after, next, prev;

    snprintf(src, sizeof src, STAGES "rule a {\n %s\n send sms hello\n}\n",
             sched_cases[_i].trigger);
    out = check_src(src, &set);
    free(out);
    if (!set) { /* a past `at` does not check: compile it without */
        struct diag d = {0};
        struct rules_env env;
        struct rule_file **f = calloc(1, sizeof *f);
        make_env(&env);
        env.now_ms = 0;
        f[0] = rule_parse("t.rules", src, strlen(src), &d);
        ck_assert_int_eq(ruleset_build(f, 1, &env, &set, &d), 0);
        rules_env_free(&env);
        diag_clear(&d);
    }
    ck_assert_int_eq(schedule_parse_time(sched_cases[_i].after, &after), 0);
    next = schedule_next(&set->rules[0].src->trig, after);
    prev = schedule_prev(&set->rules[0].src->trig, after);
    ck_assert_str_eq(next < 0 ? "" : schedule_format(next, buf, sizeof buf),
                     sched_cases[_i].next);
    ck_assert_str_eq(prev < 0 ? "" : schedule_format(prev, buf, sizeof buf),
                     sched_cases[_i].prev);
    ruleset_free(set);
}
END_TEST

/* --- quiet hours in the student's zone
 * ------------------------------------------ */

static const struct {
    const char *hours, *zone, *now; /* now: UTC */
    const char *until;              /* UTC; "" when not quiet */
} quiet_cases[] = {
    /* 00:20 in Shanghai (UTC+8) is quiet until 08:00 there, 00:00 UTC */
    {"21:00-08:00", "Asia/Shanghai", "2026-11-22 16:20", "2026-11-23 00:00"},
    {"21:00-08:00", "Asia/Shanghai", "2026-11-22 04:00", ""},
    /* 21:00 sharp is quiet, 08:00 sharp is not */
    {"21:00-08:00", "UTC", "2026-11-22 21:00", "2026-11-23 08:00"},
    {"21:00-08:00", "UTC", "2026-11-22 08:00", ""},
    /* a window inside one day */
    {"12:00-13:30", "UTC", "2026-11-22 12:10", "2026-11-22 13:30"},
    /* New York keeps daylight saving time: UTC-4 in July, UTC-5 in Nov */
    {"21:00-08:00", "America/New_York", "2026-07-01 11:30", "2026-07-01 12:00"},
    {"21:00-08:00", "America/New_York", "2026-11-22 12:30", "2026-11-22 13:00"},
    /* none; an unknown student zone is [delivery] timezone, not UTC, and
     * daylight-saving nights are at their edges in test_tz.c */
    {"", "UTC", "2026-11-22 23:00", ""},
};

START_TEST(test_quiet_hours)
{
    int64_t now, until;
    char buf[32];

    ck_assert_int_eq(schedule_parse_time(quiet_cases[_i].now, &now), 0);
    until = quiet_until(quiet_cases[_i].hours, quiet_cases[_i].zone, now);
    ck_assert_str_eq(until ? schedule_format(until, buf, sizeof buf) : "",
                     quiet_cases[_i].until);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("rules", &tc);

    tcase_add_loop_test(tc, test_check, 0,
                        sizeof check_cases / sizeof check_cases[0]);
    tcase_add_loop_test(tc, test_eval, 0,
                        sizeof eval_cases / sizeof eval_cases[0]);
    tcase_add_loop_test(tc, test_may_hold, 0,
                        sizeof may_hold_cases / sizeof may_hold_cases[0]);
    tcase_add_test(tc, test_explain);
    tcase_add_test(tc, test_triggers);
    tcase_add_test(tc, test_examples);
    tcase_add_loop_test(tc, test_schedule, 0,
                        sizeof sched_cases / sizeof sched_cases[0]);
    tcase_add_loop_test(tc, test_quiet_hours, 0,
                        sizeof quiet_cases / sizeof quiet_cases[0]);
    setenv("TZ", "UTC", 1);
    tzset();
    return check_run(s);
}
