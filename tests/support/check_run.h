/*
 * check_run.h - the main() of every Check unit test: run the suite, print
 * Check's summary, exit non-zero on a failure.
 */
#ifndef NUDGE_TEST_CHECK_RUN_H
#define NUDGE_TEST_CHECK_RUN_H

#include <check.h>

/* Runs s (and frees it); returns EXIT_SUCCESS or EXIT_FAILURE. */
int check_run(Suite *s);

/* A suite of one test case, named name. */
Suite *check_suite(const char *name, TCase **tc);

#endif
