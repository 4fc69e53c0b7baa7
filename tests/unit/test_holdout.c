/*
 * test_holdout.c - holdout groups (rules/holdout.h): shares as written in
 * a rule, the draw (its share over 10,000 students, its stability, its
 * independence between rules, and the documented formula pinned by
 * values computed apart in Python), and the `holdout` clause's errors
 * with their places.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "rules/holdout.h"
#include "rules/parser.h"
#include "tests/support/check_run.h"

/* --- shares --------------------------------------------------------------- */

static const struct {
    const char *text;
    int share; /* hundredths of a percent; -1: refused */
} share_cases[] = {
    {"10%", 1000},
    {"12.5%", 1250},
    {"0.1%", 10},
    {"99.9%", 9990},
    {"1%", 100},
    /* out of range */
    {"0%", -1},
    {"0.0%", -1},
    {"100%", -1},
    {"150%", -1},
    {"-5%", -1},
    {"12345%", -1},
    /* not a share */
    {"12.25%", -1}, /* one decimal at most */
    {"10", -1},     /* the percent sign */
    {"%", -1},
    {"ten%", -1},
    {"10%%", -1},
};

START_TEST(test_share_parse)
{
    char why[160] = "";
    int share = -7;
    int got =
        holdout_share_parse(share_cases[_i].text, &share, why, sizeof why);

    if (share_cases[_i].share < 0) {
        ck_assert_int_eq(got, -1);
        ck_assert_msg(why[0], "%s: refused without a reason",
                      share_cases[_i].text);
    } else {
        ck_assert_int_eq(got, 0);
        ck_assert_int_eq(share, share_cases[_i].share);
    }
}
END_TEST

START_TEST(test_share_format)
{
    char buf[16];

    ck_assert_str_eq(holdout_share_format(1000, buf, sizeof buf), "10%");
    ck_assert_str_eq(holdout_share_format(1250, buf, sizeof buf), "12.5%");
    ck_assert_str_eq(holdout_share_format(10, buf, sizeof buf), "0.1%");
    ck_assert_str_eq(holdout_share_format(9990, buf, sizeof buf), "99.9%");
}
END_TEST

/* --- the draw ------------------------------------------------------------- */

#define STUDENTS 10000

/* Draws students "1" .. "10000" for rule at share into out (1 held). */
static int draw_all(const char *rule, int share, char *out)
{
    char id[16];
    int held = 0;

    for (int i = 0; i < STUDENTS; i++) {
        snprintf(id, sizeof id, "%d", i + 1);
        out[i] = (char)holdout_draw(rule, id, share);
        held += out[i];
    }
    return held;
}

START_TEST(test_draw_share)
{
    static char a[STUDENTS];
    static const char *const rules[] = {"campaign", "trial_class_invite",
                                        "remote_weekly_vlog", "规则"};

    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        /* 10% of 10,000, within one percentage point */
        int held = draw_all(rules[r], 1000, a);
        ck_assert_msg(held >= 900 && held <= 1100, "%s: %d of %d held out",
                      rules[r], held, STUDENTS);
        /* a larger share spreads more (binomial: 43 students for one
         * standard deviation at 25%): within two points */
        held = draw_all(rules[r], 2500, a);
        ck_assert_msg(held >= 2300 && held <= 2700, "%s at 25%%: %d", rules[r],
                      held);
    }
}
END_TEST

START_TEST(test_draw_stable)
{
    static char a[STUDENTS], b[STUDENTS];

    draw_all("campaign", 1000, a);
    draw_all("campaign", 1000, b);
    ck_assert_mem_eq(a, b, STUDENTS);
}
END_TEST

START_TEST(test_draw_differs_per_rule)
{
    static char a[STUDENTS], b[STUDENTS];
    int both = 0, held = draw_all("campaign", 1000, a);

    draw_all("campaign_v2", 1000, b);
    for (int i = 0; i < STUDENTS; i++)
        both += a[i] && b[i];
    /* independent draws share about 10% of the held: far from all */
    ck_assert_msg(both < held / 4, "%d of %d held out by both rules", both,
                  held);
}
END_TEST

/* The documented formula, FNV-1a 64 of "RULE\0STUDENT" mod 10000 below
 * the share, pinned by slots computed in Python: a student whose slot is
 * s is held out at a share above s and not at s. */
static const struct {
    const char *rule, *student;
    int slot;
} slot_cases[] = {
    {"invite", "42", 7610},
    {"invite", "43", 5821},
    {"campaign", "1", 4024},
    {"trial_class_invite", "20260001", 6713},
    {"规则", "学生7", 4361},
};

START_TEST(test_draw_formula)
{
    const char *rule = slot_cases[_i].rule, *student = slot_cases[_i].student;
    int slot = slot_cases[_i].slot;

    ck_assert_int_eq(holdout_draw(rule, student, slot + 1), 1);
    ck_assert_int_eq(holdout_draw(rule, student, slot), 0);
    ck_assert_int_eq(holdout_draw(rule, student, 0), 0);
}
END_TEST

/* --- the clause ----------------------------------------------------------- */

static const struct {
    const char *src;
    int share;         /* the rule's, when it parses */
    const char *error; /* the first message, when it does not */
} clause_cases[] = {
    {"rule r {\n    on created\n    holdout 10%\n    send sms hello\n}\n",
     1000, NULL},
    /* a setting among the others, in any order before the steps */
    {"rule r {\n    holdout 2.5%\n    on created\n    when score > 1\n"
     "    send sms hello\n}\n",
     250, NULL},
    {"rule r {\n    on created\n    send sms hello\n}\n", 0, NULL},
    {"rule r {\n    on created\n    holdout 150%\n    send sms hello\n}\n", 0,
     "t.rules:3:13: invalid share \"150%\" in holdout: a share is more than "
     "0% and less than 100% (holdout 10%)"},
    {"rule r {\n    on created\n    holdout 0%\n    send sms hello\n}\n", 0,
     "t.rules:3:13: invalid share \"0%\" in holdout: a share is more than 0% "
     "and less than 100% (holdout 10%)"},
    {"rule r {\n    on created\n    holdout ten\n    send sms hello\n}\n", 0,
     "t.rules:3:13: expected a share after \"holdout\" (holdout 10%), found "
     "\"ten\""},
    {"rule r {\n    on created\n    holdout\n    send sms hello\n}\n", 0,
     "t.rules:4:5: expected a share after \"holdout\" (holdout 10%), found "
     "\"send\""},
    {"rule r {\n    on created\n    holdout 10\n    send sms hello\n}\n", 0,
     "t.rules:3:13: holdout 10: a share needs its percent sign (holdout 10%)"},
    {"rule r {\n  on created\n  holdout 10%\n  holdout 5%\n  send sms x\n}\n",
     0,
     "t.rules:4:3: rule \"r\" already has a holdout (line 3): one holdout per "
     "rule"},
    {"rule r {\n    on created\n    send sms hello\n    holdout 10%\n}\n", 0,
     "t.rules:4:5: \"holdout\" must come before the first step"},
    {"rule r {\n    on created\n    holdout 10% of them\n    send sms x\n}\n",
     0, "t.rules:3:17: unexpected \"of\": one step or setting a line"},
};

START_TEST(test_clause)
{
    struct diag d = {0};
    const char *src = clause_cases[_i].src;
    struct rule_file *f = rule_parse("t.rules", src, strlen(src), &d);

    ck_assert_ptr_nonnull(f);
    if (clause_cases[_i].error) {
        ck_assert_str_eq(diag_first(&d), clause_cases[_i].error);
    } else {
        ck_assert_msg(d.errors == 0, "unexpected: %s", diag_first(&d));
        ck_assert_int_eq(f->nrules, 1);
        ck_assert_int_eq(f->rules[0].holdout, clause_cases[_i].share);
    }
    rule_file_free(f);
    diag_clear(&d);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("holdout", &tc);

    tcase_add_loop_test(tc, test_share_parse, 0,
                        sizeof share_cases / sizeof share_cases[0]);
    tcase_add_test(tc, test_share_format);
    tcase_add_test(tc, test_draw_share);
    tcase_add_test(tc, test_draw_stable);
    tcase_add_test(tc, test_draw_differs_per_rule);
    tcase_add_loop_test(tc, test_draw_formula, 0,
                        sizeof slot_cases / sizeof slot_cases[0]);
    tcase_add_loop_test(tc, test_clause, 0,
                        sizeof clause_cases / sizeof clause_cases[0]);
    return check_run(s);
}
