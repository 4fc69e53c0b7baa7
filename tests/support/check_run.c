/*
 * check_run.c - shared test main (see check_run.h).
 */
#include "tests/support/check_run.h"

#include <stdlib.h>

int check_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

Suite *check_suite(const char *name, TCase **tc)
{
    Suite *s = suite_create(name);

    *tc = tcase_create(name);
    suite_add_tcase(s, *tc);
    return s;
}
