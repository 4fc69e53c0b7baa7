/*
 * test_variant.c - weighted template variants (rules/variant.h): the
 * draw (its shares over 10,000 students within a point, its stability,
 * the documented formula pinned by values computed apart in Python), the
 * step as sent, and the variant list's errors with their places.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "rules/parser.h"
#include "rules/variant.h"
#include "tests/support/check_run.h"

static struct variant three[] = {
    {"a", 5000, {0, 0}}, {"b", 3000, {0, 0}}, {"c", 2000, {0, 0}}};

START_TEST(test_shares)
{
    size_t count[3] = {0};
    char id[16];

    for (int i = 1; i <= 10000; i++) {
        snprintf(id, sizeof id, "%d", i);
        count[variant_pick("invite", 2, id, three, 3)]++;
    }
    for (int k = 0; k < 3; k++)
        ck_assert_msg(labs((long)count[k] - three[k].weight) <= 100,
                      "variant %s: %zu of 10000 for a weight of %d",
                      three[k].tmpl, count[k], three[k].weight);
}
END_TEST

START_TEST(test_stable_and_per_step)
{
    char id[16];
    int differ = 0;

    for (int i = 1; i <= 1000; i++) {
        snprintf(id, sizeof id, "S-%d", i);
        ck_assert_uint_eq(variant_pick("invite", 0, id, three, 3),
                          variant_pick("invite", 0, id, three, 3));
        differ += variant_pick("invite", 0, id, three, 3) !=
                  variant_pick("invite", 1, id, three, 3);
    }
    /* two variant steps of one rule draw independently: about 62% differ */
    ck_assert_msg(differ > 500 && differ < 750, "%d of 1000 differ", differ);
}
END_TEST

/* h = FNV-1a 64 of "RULE\0STEP\0STUDENT" mod 10000, from Python:
 * pick/1/7 -> 3922, invite/3/S-1001 -> 6609, a/2/bc -> 5853. */
static const struct {
    const char *rule, *student;
    size_t step; /* counted from 0 here */
    int slot;
} slot_cases[] = {
    {"pick", "7", 0, 3922},
    {"invite", "S-1001", 2, 6609},
    {"a", "bc", 1, 5853},
};

START_TEST(test_formula)
{
    /* two variants split at slot and slot + 1: the draw is at slot */
    struct variant v[2] = {{"x", 0, {0, 0}}, {"y", 0, {0, 0}}};
    int slot = slot_cases[_i].slot;

    v[0].weight = slot + 1, v[1].weight = 10000 - slot - 1;
    ck_assert_uint_eq(variant_pick(slot_cases[_i].rule, slot_cases[_i].step,
                                   slot_cases[_i].student, v, 2),
                      0);
    v[0].weight = slot, v[1].weight = 10000 - slot;
    ck_assert_uint_eq(variant_pick(slot_cases[_i].rule, slot_cases[_i].step,
                                   slot_cases[_i].student, v, 2),
                      1);
}
END_TEST

START_TEST(test_step_as_sent)
{
    struct step plain = {.kind = STEP_SEND, .tmpl = "hello"}, buf;
    struct step var = {
        .kind = STEP_SEND, .tmpl = "a", .variants = three, .nvariants = 3};
    const struct step *s;

    ck_assert_ptr_eq(variant_step(&plain, "r", 0, "1", &buf), &plain);
    ck_assert_str_eq(variant_template(&plain, "r", 0, "1"), "hello");
    s = variant_step(&var, "invite", 2, "42", &buf);
    ck_assert_ptr_eq(s, &buf);
    ck_assert_str_eq(s->tmpl,
                     three[variant_pick("invite", 2, "42", three, 3)].tmpl);
    ck_assert_str_eq(variant_template(&var, "invite", 2, "42"), s->tmpl);
}
END_TEST

/* --- the list ------------------------------------------------------------- */

#define RULE_WITH(step) "rule r {\n    on created\n    " step "\n}\n"

static const struct {
    const char *src;
    size_t nvariants;  /* when it parses */
    const char *error; /* the first message, when it does not */
} list_cases[] = {
    {RULE_WITH("send sms variant a 50%, b 50%"), 2, NULL},
    {RULE_WITH("send sms variant a 12.5%, b 37.5%, c 50%"), 3, NULL},
    /* a list may go on after a comma on the next line */
    {RULE_WITH("send sms variant a 50%,\n        b 50%"), 2, NULL},
    /* a template called "variant" stays a plain send */
    {RULE_WITH("send sms variant"), 0, NULL},
    {RULE_WITH("send sms variant a 60%, b 30%"), 0,
     "t.rules:3:14: the variants' weights add up to 90%, not 100%"},
    {RULE_WITH("send sms variant a 50%, b 50.5%"), 0,
     "t.rules:3:14: the variants' weights add up to 100.5%, not 100%"},
    {RULE_WITH("send sms variant a 99%"), 0,
     "t.rules:3:14: a variant send names two templates or more (variant a "
     "50%, other 50%); for one, write \"send sms a\""},
    {RULE_WITH("send sms variant a 50%, b"), 0,
     "t.rules:3:29: variant b needs its weight (b 50%)"},
    {RULE_WITH("send sms variant a 0%, b 100%"), 0,
     "t.rules:3:24: invalid weight \"0%\" for variant a: a weight is more "
     "than 0% and less than 100%, with at most one decimal (a 50%)"},
    {RULE_WITH("send sms variant a 50%, a 50%"), 0,
     "t.rules:3:29: variant a is listed twice (line 3): one weight per "
     "template"},
    {RULE_WITH("send sms variant a 50%, 50%"), 0,
     "t.rules:3:29: expected a template name in the variant list (variant "
     "invite_a 50%, invite_b 50%), found \"50%\""},
};

START_TEST(test_list)
{
    struct diag d = {0};
    const char *src = list_cases[_i].src;
    struct rule_file *f = rule_parse("t.rules", src, strlen(src), &d);

    ck_assert_ptr_nonnull(f);
    if (list_cases[_i].error) {
        ck_assert_str_eq(diag_first(&d), list_cases[_i].error);
    } else {
        ck_assert_msg(d.errors == 0, "unexpected: %s", diag_first(&d));
        ck_assert_int_eq(f->rules[0].nsteps, 1);
        ck_assert_uint_eq(f->rules[0].steps[0].nvariants,
                          list_cases[_i].nvariants);
        if (list_cases[_i].nvariants)
            ck_assert_str_eq(f->rules[0].steps[0].tmpl, "a");
        else
            ck_assert_str_eq(f->rules[0].steps[0].tmpl, "variant");
    }
    rule_file_free(f);
    diag_clear(&d);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("variant", &tc);

    tcase_add_test(tc, test_shares);
    tcase_add_test(tc, test_stable_and_per_step);
    tcase_add_loop_test(tc, test_formula, 0,
                        sizeof slot_cases / sizeof slot_cases[0]);
    tcase_add_test(tc, test_step_as_sent);
    tcase_add_loop_test(tc, test_list, 0,
                        sizeof list_cases / sizeof list_cases[0]);
    return check_run(s);
}
