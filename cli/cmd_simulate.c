/*
 * cmd_simulate.c - nudgectl simulate (placeholder until its issue lands).
 */
#include <stdio.h>

#include "cli/ctl.h"

int cmd_simulate(struct ctl *ctl, int argc, char **argv)
{
    (void)ctl;
    (void)argc;
    fprintf(stderr, "nudgectl: %s is not available yet\n", argv[0]);
    return CTL_USAGE;
}
