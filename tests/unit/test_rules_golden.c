/*
 * test_rules_golden.c - the corpus of broken rule files: each
 * tests/rules/bad/NAME.rules is checked alone, with the channels sms,
 * email and wecom and the templates of tests/rules/templates, and its
 * messages must equal NAME.expected byte for byte. Adding a case is adding
 * two files. NUDGE_GOLDEN_UPDATE=1 rewrites the .expected files (then read
 * the diff before committing it).
 */
#include <check.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/compile.h"
#include "rules/parser.h"
#include "tests/support/check_run.h"

#define CORPUS "tests/rules/bad"

static glob_t corpus;

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    FILE *mem;
    int c;

    if (!fp)
        return NULL;
    mem = open_memstream(&buf, &len);
    while ((c = fgetc(fp)) != EOF)
        fputc(c, mem);
    fclose(mem);
    fclose(fp);
    return buf;
}

/* The messages for one file, checked from inside the corpus folder so
 * that they name it as a recruiter would see it. */
static char *check_file(const char *name)
{
    struct diag d = {0};
    struct rules_env env;
    struct ruleset *set = NULL;
    char *out = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&out, &len);

    memset(&env, 0, sizeof env);
    rules_env_add_channel(&env, "sms", "sms");
    rules_env_add_channel(&env, "email", "email");
    rules_env_add_channel(&env, "wecom", "wecom");
    rules_env_scan_templates(&env, "../templates");
    env.now_ms = 1795000000000LL; /* 2026-11-18: "at" dates before are past */
    ruleset_load_files(&name, 1, &env, &set, &d);
    ruleset_free(set);
    diag_print(&d, mem);
    fclose(mem);
    diag_clear(&d);
    rules_env_free(&env);
    return out;
}

START_TEST(test_golden)
{
    const char *path = corpus.gl_pathv[_i];
    const char *name = strrchr(path, '/') + 1;
    char expected_name[512], *got, *want;

    ck_assert_int_eq(chdir(CORPUS), 0);
    snprintf(expected_name, sizeof expected_name, "%.*s.expected",
             (int)(strlen(name) - 6), name);
    got = check_file(name);
    ck_assert_msg(got[0] != 0, "%s: a file of the bad corpus checks clean",
                  name);
    if (getenv("NUDGE_GOLDEN_UPDATE")) {
        FILE *fp = fopen(expected_name, "w");
        ck_assert_ptr_nonnull(fp);
        fputs(got, fp);
        fclose(fp);
    }
    want = slurp(expected_name);
    ck_assert_msg(want != NULL, "%s: missing", expected_name);
    ck_assert_msg(strcmp(got, want) == 0, "%s:\n--- got\n%s--- want\n%s", name,
                  got, want);
    free(got);
    free(want);
    ck_assert_int_eq(chdir("../../.."), 0);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("rules_golden", &tc);
    int status;

    if (glob(CORPUS "/*.rules", 0, NULL, &corpus) != 0 ||
        corpus.gl_pathc == 0) {
        fprintf(stderr,
                "test_rules_golden: no %s/*.rules (run from the "
                "source folder)\n",
                CORPUS);
        return 1;
    }
    tcase_add_loop_test(tc, test_golden, 0, (int)corpus.gl_pathc);
    status = check_run(s);
    globfree(&corpus);
    return status;
}
