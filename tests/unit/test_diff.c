/*
 * test_diff.c - `nudgectl diff`'s comparison (cli/diff.h): which part of
 * a rule a change is reported as, rules added and removed, and the counts
 * of one student at a time, cut-short runs included. The students and
 * their runs are made here; tests/integration/test_diff.py does the same
 * over Redis with runs the real nudged started.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/diff.h"
#include "rules/checker.h"
#include "tests/support/check_run.h"

#define STAGES "stages lead contacted consulting applied admitted\n"

static struct config cfg;
static struct rules_env env;
static char dirs[2][64];

static void setup(void)
{
    memset(&env, 0, sizeof env);
    rules_env_add_channel(&env, "sms", "sms");
    rules_env_add_template(&env, "hello", TMPL_PART_SMS);
    ck_assert_int_eq(config_defaults(&cfg), 0);
    for (int i = 0; i < 2; i++) {
        snprintf(dirs[i], sizeof dirs[i], "/tmp/nudge-test-diff-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dirs[i]));
    }
}

static void teardown(void)
{
    char path[128];

    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/t.rules", dirs[i]);
        unlink(path);
        rmdir(dirs[i]);
    }
    rules_env_free(&env);
    config_free(&cfg);
}

/* The set of src, written as side's t.rules (the diff reads the text
 * back from the file). */
static struct ruleset *load(int side, const char *src)
{
    char path[128];
    const char *paths[1] = {path};
    struct ruleset *set = NULL;
    struct diag d = {0};
    FILE *fp;

    snprintf(path, sizeof path, "%s/t.rules", dirs[side]);
    ck_assert_ptr_nonnull(fp = fopen(path, "w"));
    fputs(src, fp);
    fclose(fp);
    ruleset_load_files(paths, 1, &env, &set, &d);
    if (!set)
        diag_print(&d, stderr);
    ck_assert_ptr_nonnull(set);
    diag_clear(&d);
    return set;
}

/* --- parts --------------------------------------------------------------- */

#define RULE(body) STAGES "rule r {\n" body "}\n"

static const struct {
    const char *before, *after;
    enum diff_status status;
    const char *parts;
} part_cases[] = {
    /* the same text */
    {RULE("on created\nsend sms hello\n"), RULE("on created\nsend sms hello\n"),
     DIFF_SAME, ""},
    /* comments and spacing only */
    {RULE("on created\nsend sms hello\n"),
     "# a comment\n" RULE("  on   created   # why\n\n  send sms hello\n"),
     DIFF_SAME, ""},
    {RULE("on stage consulting\nsend sms hello\n"),
     RULE("on stage applied\nsend sms hello\n"), DIFF_CHANGED, "trigger"},
    {RULE("every monday 09:00\nsend sms hello\n"),
     RULE("every monday 10:00\nsend sms hello\n"), DIFF_CHANGED, "trigger"},
    {RULE("on created\nwhen score >= 600\nsend sms hello\n"),
     RULE("on created\nwhen score >= 550\nsend sms hello\n"), DIFF_CHANGED,
     "when"},
    /* a `when` added */
    {RULE("on created\nsend sms hello\n"),
     RULE("on created\nwhen tag \"x\"\nsend sms hello\n"), DIFF_CHANGED,
     "when"},
    {RULE("on created\nsend sms hello\n"),
     RULE("on created\nlimit 1 per 7d\nsend sms hello\n"), DIFF_CHANGED,
     "limit"},
    {RULE("on created\nwait 1h\nsend sms hello\n"),
     RULE("on created\nwait 2h\nsend sms hello\n"), DIFF_CHANGED, "steps"},
    /* stop if became stop unless: the shape (the daemon ends the runs) */
    {RULE("on created\nstop if tag \"a\"\nsend sms hello\n"),
     RULE("on created\nstop unless tag \"a\"\nsend sms hello\n"),
     DIFF_CHANGED, "steps"},
    {RULE("on created\nstop if tag \"a\"\nsend sms hello\n"),
     RULE("on created\nstop if tag \"b\"\nsend sms hello\n"), DIFF_CHANGED,
     "stop conditions"},
    /* the same wait written another way: only the text */
    {RULE("on created\nwait 60m\nsend sms hello\n"),
     RULE("on created\nwait 1h\nsend sms hello\n"), DIFF_CHANGED, "text"},
    {RULE("on created\nwhen score > 1\nwait 1h\nsend sms hello\n"),
     RULE("on stage lead\nwhen score > 2\nwait 2h\nsend sms hello\n"),
     DIFF_CHANGED, "trigger, when, steps"},
};

START_TEST(test_parts)
{
    struct ruleset *a = load(0, part_cases[_i].before);
    struct ruleset *b = load(1, part_cases[_i].after);
    struct diff d;
    char buf[160];

    ck_assert_int_eq(diff_init(&d, &cfg, a, b), 0);
    ck_assert_uint_eq(d.nrules, 1);
    ck_assert_str_eq(diff_status_name(d.rules[0].status),
                     diff_status_name(part_cases[_i].status));
    ck_assert_str_eq(diff_parts_format(d.rules[0].parts, buf, sizeof buf),
                     part_cases[_i].parts);
    diff_free(&d);
    ruleset_free(a);
    ruleset_free(b);
}
END_TEST

START_TEST(test_added_removed_in_order)
{
    struct ruleset *a = load(0, STAGES "rule zz {\non created\nsend sms hello\n}\n"
                                       "rule gone {\non created\nsend sms hello\n}\n"
                                       "rule keep {\non created\nsend sms hello\n}\n");
    struct ruleset *b = load(1, STAGES "rule keep {\non created\nsend sms hello\n}\n"
                                       "rule new {\non created\nsend sms hello\n}\n"
                                       "rule zz {\non created\nwait 1h\nsend sms hello\n}\n");
    static const char *const want[][2] = {
        {"zz", "changed"}, {"new", "added"}, {"gone", "removed"},
        {"keep", "unchanged"}};
    struct diff d;

    ck_assert_int_eq(diff_init(&d, &cfg, a, b), 0);
    ck_assert_uint_eq(d.nrules, 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_str_eq(d.rules[i].name, want[i][0]);
        ck_assert_str_eq(diff_status_name(d.rules[i].status), want[i][1]);
    }
    ck_assert(diff_wants_runs(&d, 0));  /* changed */
    ck_assert(!diff_wants_runs(&d, 1)); /* added: no old runs */
    ck_assert(diff_wants_runs(&d, 2));  /* removed */
    ck_assert(!diff_wants_runs(&d, 3)); /* unchanged */
    diff_free(&d);
    ruleset_free(a);
    ruleset_free(b);
}
END_TEST

/* --- counting ------------------------------------------------------------ */

static struct student *make(const char *id, const char *score,
                            const char *tag, const char *followup_at)
{
    struct student *st = student_new(id);

    attrs_set(&st->attrs, "stage", "lead");
    attrs_set(&st->attrs, "score", score);
    attrs_set(&st->attrs, "phone", "+8613812345678");
    if (followup_at)
        attrs_set(&st->attrs, "followup_at", followup_at);
    if (tag)
        strset_add(&st->tags, tag);
    student_seal(st);
    return st;
}

START_TEST(test_counts_and_cut_short)
{
    /* w: `when` changed; s: a stop changed; g: removed */
    struct ruleset *a = load(0, STAGES
        "rule w {\non created\nwhen score >= 600\nwait 1h\nsend sms hello\n}\n"
        "rule s {\non created\nwait 1h\nstop if tag \"paid\"\n"
        "send sms hello\n}\n"
        "rule g {\non created\nwhen score < 300\nwait 1h\nsend sms hello\n}\n");
    struct ruleset *b = load(1, STAGES
        "rule w {\non created\nwhen score >= 500\nwait 1h\nsend sms hello\n}\n"
        "rule s {\non created\nwait 1h\nstop if tag \"paid\" or followed_up\n"
        "send sms hello\n}\n");
    static const struct {
        const char *id, *score, *tag, *followup;
        const char *run_w, *run_s, *run_g;
    } students[] = {
        /* newly matches w; its run of w goes on (when is not read again) */
        {"1", "550", NULL, NULL, "e1.x 1000", NULL, NULL},
        /* matches w before and after; a followup after its run of s began:
         * the new stop ends it */
        {"2", "650", NULL, "2000", NULL, "e2.x 1000", NULL},
        /* a followup before the run began: not followed up for it */
        {"3", "650", NULL, "500", NULL, "e3.x 1000", NULL},
        /* paid: the old stop ended it as well, nothing is cut short */
        {"4", "100", "paid", "2000", NULL, "e4.x 1000", "e4.y 1000"},
        /* matches no w; the removed g matched it; no runs */
        {"5", "200", NULL, NULL, NULL, NULL, NULL},
    };
    struct diff d;
    const struct diff_rule *w, *s, *g;

    ck_assert_int_eq(diff_init(&d, &cfg, a, b), 0);
    ck_assert_uint_eq(d.nrules, 3);
    s = &d.rules[0];
    w = &d.rules[1];
    g = &d.rules[2];
    ck_assert_str_eq(s->name, "s");
    ck_assert_str_eq(w->name, "w");
    ck_assert_str_eq(g->name, "g");
    for (size_t i = 0; i < sizeof students / sizeof *students; i++) {
        struct student *st = make(students[i].id, students[i].score,
                                  students[i].tag, students[i].followup);
        const char *runs[3] = {students[i].run_s, students[i].run_w,
                               students[i].run_g};
        diff_student(&d, st, runs, 10000);
        student_free(st);
    }
    ck_assert_uint_eq(d.students, 5);
    ck_assert_uint_eq(w->match_before, 2);
    ck_assert_uint_eq(w->match_after, 3);
    ck_assert_uint_eq(w->newly.n, 1);
    ck_assert_str_eq(w->newly.sample[0].id, "1");
    ck_assert_str_eq(w->newly.sample[0].contact, "+86138****5678");
    ck_assert_uint_eq(w->no_longer.n, 0);
    ck_assert_uint_eq(w->running, 1);
    ck_assert_uint_eq(w->cut_short.n, 0);
    ck_assert_uint_eq(s->running, 3);
    ck_assert_uint_eq(s->cut_short.n, 1);
    ck_assert_str_eq(s->cut_short.sample[0].id, "2");
    ck_assert_uint_eq(g->match_before, 2);
    ck_assert_uint_eq(g->no_longer.n, 2);
    ck_assert_uint_eq(g->newly.n, 0);
    ck_assert_uint_eq(g->running, 1);
    ck_assert_uint_eq(g->cut_short.n, 1);
    diff_free(&d);
    ruleset_free(a);
    ruleset_free(b);
}
END_TEST

START_TEST(test_sample_is_capped)
{
    struct ruleset *a = load(0, STAGES "rule x {\non created\nwhen score > 900\n"
                                       "send sms hello\n}\n");
    struct ruleset *b = load(1, STAGES "rule x {\non created\nsend sms hello\n}\n");
    struct diff d;
    char id[16];

    ck_assert_int_eq(diff_init(&d, &cfg, a, b), 0);
    for (int i = 0; i < 12; i++) {
        struct student *st;
        snprintf(id, sizeof id, "%d", i);
        st = make(id, "1", NULL, NULL);
        diff_student(&d, st, NULL, 10000);
        student_free(st);
    }
    ck_assert_uint_eq(d.rules[0].newly.n, 12);
    ck_assert_uint_eq(d.rules[0].newly.nsample, DIFF_SAMPLE);
    ck_assert_str_eq(d.rules[0].newly.sample[DIFF_SAMPLE - 1].id, "4");
    diff_free(&d);
    ruleset_free(a);
    ruleset_free(b);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("diff", &tc);

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_parts, 0,
                        sizeof part_cases / sizeof part_cases[0]);
    tcase_add_test(tc, test_added_removed_in_order);
    tcase_add_test(tc, test_counts_and_cut_short);
    tcase_add_test(tc, test_sample_is_capped);
    return check_run(s);
}
