/*
 * test_consent.c - the verdict on a student's reply: the default opt-out
 * and opt-in words of [consent], whole-text matching, and bad patterns.
 */
#include <check.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/consent.h"
#include "tests/support/check_run.h"

static const struct {
    const char *text;
    enum consent_verdict want;
} verdict_cases[] = {
    /* the MIIT words, alone */
    {"退订", CONSENT_OPTOUT},
    {"拒收", CONSENT_OPTOUT},
    {"R", CONSENT_OPTOUT},
    {"N", CONSENT_OPTOUT},
    {"T", CONSENT_OPTOUT},
    /* spaces, case and punctuation around a word are ignored */
    {" td ", CONSENT_OPTOUT},
    {"TD。", CONSENT_OPTOUT},
    {"TD！", CONSENT_OPTOUT},
    {"，td!", CONSENT_OPTOUT},
    {"\u3000退订\u3000", CONSENT_OPTOUT}, /* ideographic spaces */
    {"STOP", CONSENT_OPTOUT},
    {"stop.", CONSENT_OPTOUT},
    {"Unsubscribe!", CONSENT_OPTOUT},
    /* a word inside a sentence is no opt-out */
    {"TD please call me", CONSENT_NONE},
    {"请不要退订", CONSENT_NONE},
    {"tdd", CONSENT_NONE},
    {"R R", CONSENT_NONE},
    {"", CONSENT_NONE},
    {"。", CONSENT_NONE},
    {"\xff\xfeTD", CONSENT_NONE}, /* invalid UTF-8: no match, no error */
    /* the opt-in words */
    {"订阅", CONSENT_OPTIN},
    {" start! ", CONSENT_OPTIN},
    {"start now", CONSENT_NONE},
};

static struct config cfg;
static struct consent consent;

static void setup(void)
{
    char err[256];

    ck_assert_int_eq(config_defaults(&cfg), 0);
    ck_assert_msg(consent_init(&consent, &cfg, err, sizeof err) == 0, "%s",
                  err);
}

static void teardown(void)
{
    consent_clear(&consent);
    config_free(&cfg);
}

START_TEST(test_verdict)
{
    ck_assert_msg(consent_verdict(&consent, verdict_cases[_i].text) ==
                      verdict_cases[_i].want,
                  "\"%s\"", verdict_cases[_i].text);
}
END_TEST

START_TEST(test_null_text)
{
    ck_assert_int_eq(consent_verdict(&consent, NULL), CONSENT_NONE);
}
END_TEST

static const struct {
    const char *list, *err; /* err NULL: compiles */
} list_cases[] = {
    /* patterns are PCRE2 */
    {"unsub(scribe)?, 退订", NULL},
    /* empty lists and empty words */
    {"", NULL},
    {" , ,", NULL},
    /* a bad pattern is named, with PCRE2's reason */
    {"TD, (abc", "bad word \"(abc\": missing closing parenthesis"},
    {"[z-a]", "bad word \"[z-a]\": range out of order in character class"},
};

START_TEST(test_lists)
{
    struct consent_words *w = (void *)1;
    char err[256] = "";
    int got = consent_words_compile(list_cases[_i].list, &w, err, sizeof err);

    if (!list_cases[_i].err) {
        ck_assert_msg(got == 0, "%s", err);
    } else {
        ck_assert_int_eq(got, -1);
        ck_assert_ptr_null(w);
        ck_assert_str_eq(err, list_cases[_i].err);
    }
    consent_words_free(w);
}
END_TEST

START_TEST(test_custom_words)
{
    struct consent_words *w;
    char err[256];

    ck_assert_int_eq(consent_words_compile("unsub(scribe)?", &w, err,
                                           sizeof err), 0);
    ck_assert_int_eq(consent_words_match(w, "UNSUB"), 1);
    ck_assert_int_eq(consent_words_match(w, "unsubscribe。"), 1);
    ck_assert_int_eq(consent_words_match(w, "unsubscribed"), 0);
    consent_words_free(w);
    ck_assert_int_eq(consent_words_compile("", &w, err, sizeof err), 0);
    ck_assert_int_eq(consent_words_match(w, "TD"), 0);
}
END_TEST

START_TEST(test_scope)
{
    ck_assert_str_eq(consent_member(&consent, "sms"), "sms");
    consent.scope_all = 1;
    ck_assert_str_eq(consent_member(&consent, "sms"), "all");
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("consent", &tc);

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_verdict, 0,
                        sizeof verdict_cases / sizeof verdict_cases[0]);
    tcase_add_test(tc, test_null_text);
    tcase_add_loop_test(tc, test_lists, 0,
                        sizeof list_cases / sizeof list_cases[0]);
    tcase_add_test(tc, test_custom_words);
    tcase_add_test(tc, test_scope);
    return check_run(s);
}
