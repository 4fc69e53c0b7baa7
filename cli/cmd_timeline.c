/*
 * cmd_timeline.c - nudgectl timeline (placeholder).
 */
#include <stdio.h>

#include "cli/ctl.h"

int cmd_timeline(struct ctl *ctl, int argc, char **argv)
{
    (void)ctl;
    (void)argc;
    fprintf(stderr, "nudgectl: %s is not available yet\n", argv[0]);
    return CTL_USAGE;
}
