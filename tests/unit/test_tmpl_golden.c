/*
 * test_tmpl_golden.c - template folders that must fail (or warn) with
 * exactly the messages beside them: tests/templates/errors/CASE/ holds the
 * part files, tests/templates/errors/CASE.expected the text `nudgectl
 * check` would print, with the folder written DIR. Adding a case is adding
 * a folder and its .expected file.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "templates/tmpl.h"
#include "tests/support/check_run.h"

#define CASES "tests/templates/errors"
#define MAX_CASES 128

static char *names[MAX_CASES];
static int ncases;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_cases(void)
{
    DIR *dp = opendir(CASES);
    struct dirent *de;

    if (!dp)
        return;
    while ((de = readdir(dp)) && ncases < MAX_CASES)
        if (de->d_name[0] != '.' && !strchr(de->d_name, '.'))
            names[ncases++] = strdup(de->d_name);
    closedir(dp);
    qsort(names, (size_t)ncases, sizeof *names, by_name);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *buf;
    size_t n;

    if (!fp)
        return NULL;
    buf = calloc(1, 65536);
    n = fread(buf, 1, 65535, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* The diagnostics with the folder's path written DIR. */
static void render_diag(const struct diag *d, const char *dir, char *out,
                        size_t n)
{
    size_t len = 0, dl = strlen(dir);

    out[0] = '\0';
    for (size_t i = 0; i < d->n; i++) {
        const char *t = d->v[i].text;
        if (strncmp(t, dir, dl) == 0)
            len += (size_t)snprintf(out + len, n - len, "DIR%s\n", t + dl);
        else
            len += (size_t)snprintf(out + len, n - len, "%s\n", t);
    }
}

START_TEST(test_golden)
{
    char dir[512], path[600], got[8192];
    struct config cfg;
    struct diag d = {0};
    struct tmpl_set *set;
    char *want;

    ck_assert_int_eq(config_defaults(&cfg), 0);
    attrs_set(&cfg.school, "name", "示例大学");
    attrs_sort(&cfg.school);
    snprintf(dir, sizeof dir, "%s/%s", CASES, names[_i]);
    snprintf(path, sizeof path, "%s.expected", dir);
    set = tmpl_set_load(dir, &cfg, &d);
    render_diag(&d, dir, got, sizeof got);
    want = slurp(path);
    ck_assert_msg(want != NULL, "%s: no %s; the output is:\n%s", names[_i],
                  path, got);
    ck_assert_msg(strcmp(got, want) == 0, "%s:\n got: %s\nwant: %s",
                  names[_i], got, want);
    /* errors fail the load; warnings alone do not */
    ck_assert_msg((set == NULL) == (d.errors > 0), "%s: set %p, %d errors",
                  names[_i], (void *)set, d.errors);
    tmpl_set_unref(set);
    free(want);
    diag_clear(&d);
    config_free(&cfg);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("templates-golden", &tc);
    int status;

    find_cases();
    if (ncases == 0) {
        fprintf(stderr, "test_tmpl_golden: no cases in %s (run from the "
                        "top of the tree)\n", CASES);
        return 1;
    }
    tcase_add_loop_test(tc, test_golden, 0, ncases);
    status = check_run(s);
    for (int i = 0; i < ncases; i++)
        free(names[i]);
    return status;
}
