/*
 * test_e164.c - phone numbers checked and normalised before an SMS goes.
 */
#include <check.h>

#include "core/e164.h"
#include "tests/support/check_run.h"

static const struct {
    const char *in, *want; /* want NULL: refused */
} cases[] = {
    /* E.164 as it is */
    {"+8613812345678", "+8613812345678"},
    {"+447911123456", "+447911123456"},
    {"+12025550123", "+12025550123"},
    /* a mainland mobile without +86 */
    {"13812345678", "+8613812345678"},
    {"19912345678", "+8619912345678"},
    {"8613812345678", "+8613812345678"},
    {"008613812345678", "+8613812345678"},
    /* 00 is "+" for other countries too */
    {"00447911123456", "+447911123456"},
    /* spaces and hyphens between digits */
    {"+86 138 1234 5678", "+8613812345678"},
    {"138-1234-5678", "+8613812345678"},
    /* refused: not a mobile prefix, too short, too long, leading 0 */
    {"12812345678", NULL},
    {"1381234567", NULL},
    {"+861381234567", NULL},
    {"+8612812345678", NULL},
    {"+1234567", NULL},
    {"+1234567890123456", NULL},
    {"+0123456789", NULL},
    {"02012345678", NULL},
    /* letters, empty, a lone plus, a sign in the middle */
    {"+86138abc5678", NULL},
    {"", NULL},
    {"+", NULL},
    {"138+12345678", NULL},
    {"-13812345678", NULL},
};

START_TEST(test_normalise)
{
    char out[E164_MAX];
    int rc = e164_normalise(cases[_i].in, out);

    if (cases[_i].want) {
        ck_assert_int_eq(rc, 0);
        ck_assert_str_eq(out, cases[_i].want);
    } else {
        ck_assert_int_eq(rc, -1);
        ck_assert_str_eq(out, "");
    }
}
END_TEST

START_TEST(test_mainland)
{
    ck_assert(e164_is_mainland("+8613812345678"));
    ck_assert(!e164_is_mainland("+85291234567"));
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("e164", &tc);

    tcase_add_loop_test(tc, test_normalise, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_mainland);
    return check_run(s);
}
