/*
 * cmd_check.c - nudgectl check: runs every checker of check.h, prints
 * their errors as file:line:col: message (stderr) and summaries (stdout).
 * Exit 0 when clean (warnings allowed), 1 when anything is wrong.
 */
#include <stdio.h>
#include <string.h>

#include "cli/check.h"
#include "cli/ctl.h"

static const struct checker {
    const char *what;
    int (*run)(struct ctl *ctl, struct diag *d, FILE *report);
} checkers[] = {
    {"channels", check_channels},
    {"templates", check_templates},
    {"rules", check_rules}, /* rules/checker.h, cli/check_rules.c */
};

#define NCHECKERS (sizeof checkers / sizeof checkers[0])

static void usage(FILE *fp)
{
    fprintf(fp, "usage: nudgectl -c FILE check\n"
                "Checks the rules and templates the config names; prints "
                "each problem as\nfile:line:col: message, per template "
                "the values it needs, and the\ntemplates of each message "
                "class (marketing, service, staff).\n");
}

int cmd_check(struct ctl *ctl, int argc, char **argv)
{
    struct diag d = {0};
    int status;

    if (ctl_wants_help(argc, argv)) {
        usage(stdout);
        return CTL_OK;
    }
    if (argc > 1) {
        usage(stderr);
        return CTL_USAGE;
    }
    for (size_t i = 0; i < NCHECKERS; i++)
        checkers[i].run(ctl, &d, stdout);
    fflush(stdout);
    diag_print(&d, stderr);
    if (d.errors || d.warnings)
        fprintf(stderr, "%d error%s, %d warning%s\n", d.errors,
                d.errors == 1 ? "" : "s", d.warnings,
                d.warnings == 1 ? "" : "s");
    status = d.errors ? CTL_FINDING : CTL_OK;
    diag_clear(&d);
    return status;
}
