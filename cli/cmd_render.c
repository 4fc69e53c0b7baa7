/*
 * cmd_render.c - nudgectl render (placeholder until its issue lands).
 */
#include <stdio.h>

#include "cli/ctl.h"

int cmd_render(struct ctl *ctl, int argc, char **argv)
{
    (void)ctl;
    (void)argc;
    fprintf(stderr, "nudgectl: %s is not available yet\n", argv[0]);
    return CTL_USAGE;
}
