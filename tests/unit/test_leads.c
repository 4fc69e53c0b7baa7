/*
 * test_leads.c - when a lead counts as closed ([leads] open_stages,
 * closed_tag) and which followup counts ([leads] followup_by): the pure
 * parts of rules/leads.c. The Redis side is tests/integration/test_leads.py.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "rules/leads.h"
#include "tests/support/check_run.h"

static const struct {
    const char *open_stages, *closed_tag; /* the config */
    const char *stage, *tag;              /* the student (NULL: none) */
    const char *why;                      /* NULL: open */
} closed_cases[] = {
    /* nothing configured: every lead stays open */
    {"", "", "enrolled", "closed", NULL},
    /* a lead stage */
    {"lead contacted consulting", "", "contacted", NULL, NULL},
    /* past the lead stages */
    {"lead contacted consulting", "", "enrolled", NULL,
     "the lead is closed: stage enrolled is past the lead stages (lead "
     "contacted consulting)"},
    /* commas work as separators too; a prefix of a stage is not it */
    {"lead,contacted", "", "lead", NULL, NULL},
    {"lead contacted", "", "lea", NULL,
     "the lead is closed: stage lea is past the lead stages (lead "
     "contacted)"},
    /* no stage at all: not known to be closed */
    {"lead contacted", "", NULL, NULL, NULL},
    /* the closing tag */
    {"", "closed", "lead", "closed", "the lead is closed: tag \"closed\""},
    {"", "closed", "lead", "closed_by_crm", NULL},
    /* stage first, then the tag */
    {"lead", "closed", "applied", "closed",
     "the lead is closed: stage applied is past the lead stages (lead)"},
};

static struct student *student_with(const char *stage, const char *tag)
{
    struct student *st = student_new("42");

    ck_assert_ptr_nonnull(st);
    if (stage)
        ck_assert_int_eq(attrs_set(&st->attrs, "stage", stage), 0);
    if (tag)
        ck_assert_int_eq(strset_add(&st->tags, tag), 0);
    student_seal(st);
    return st;
}

START_TEST(test_leads_closed)
{
    struct config cfg;
    struct student *st;
    char why[300] = "";
    int closed;

    ck_assert_int_eq(config_defaults(&cfg), 0);
    free(cfg.leads.open_stages);
    free(cfg.leads.closed_tag);
    cfg.leads.open_stages = strdup(closed_cases[_i].open_stages);
    cfg.leads.closed_tag = strdup(closed_cases[_i].closed_tag);
    st = student_with(closed_cases[_i].stage, closed_cases[_i].tag);
    closed = leads_closed(&cfg, st, why, sizeof why);
    if (closed_cases[_i].why) {
        ck_assert_int_eq(closed, 1);
        ck_assert_str_eq(why, closed_cases[_i].why);
    } else {
        ck_assert_int_eq(closed, 0);
    }
    student_free(st);
    config_free(&cfg);
}
END_TEST

static const struct {
    int by;                  /* [leads] followup_by */
    const char *any, *owner; /* followup_at, owner_followup_at */
    long long want;
} followup_cases[] = {
    /* any: the latest followup of anyone */
    {LEADS_FOLLOWUP_ANY, "2000", "1000", 2000},
    /* owner: only the owner's */
    {LEADS_FOLLOWUP_OWNER, "2000", "1000", 1000},
    /* owner, and the owner never followed up */
    {LEADS_FOLLOWUP_OWNER, "2000", NULL, -1},
    /* nobody did */
    {LEADS_FOLLOWUP_ANY, NULL, NULL, -1},
};

START_TEST(test_leads_followup_ms)
{
    struct config cfg;
    struct student *st = student_new("42");

    ck_assert_int_eq(config_defaults(&cfg), 0);
    cfg.leads.followup_by = followup_cases[_i].by;
    if (followup_cases[_i].any)
        attrs_set(&st->attrs, "followup_at", followup_cases[_i].any);
    if (followup_cases[_i].owner)
        attrs_set(&st->attrs, FIELD_OWNER_FOLLOWUP_AT, followup_cases[_i].owner);
    student_seal(st);
    ck_assert_int_eq(leads_followup_ms(&cfg, st), followup_cases[_i].want);
    student_free(st);
    config_free(&cfg);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("leads", &tc);

    tcase_add_loop_test(tc, test_leads_closed, 0,
                        sizeof closed_cases / sizeof closed_cases[0]);
    tcase_add_loop_test(tc, test_leads_followup_ms, 0,
                        sizeof followup_cases / sizeof followup_cases[0]);
    return check_run(s);
}
