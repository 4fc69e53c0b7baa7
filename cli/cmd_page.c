/*
 * cmd_page.c - nudgectl page --html FILE: writes the supervisors' page
 * (rules/supervisor_page.h) to a file, the same page nudged serves at
 * /report, built by the same function, for mailing or archiving. It has
 * no channel figures: those live in the daemon's memory. (`nudgectl
 * report --html FILE` will write it too, through the same function.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"
#include "core/clock.h"
#include "rules/supervisor_page.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: nudgectl -c FILE page --html FILE\n"
            "\n"
            "Writes the supervisors' page (what nudged serves at /report:\n"
            "overdue leads, the queue's health; the channels' figures are\n"
            "only on the live page) to FILE, \"-\" for stdout. One HTML file\n"
            "with nothing to fetch; contacts are masked.\n"
            "exit status: 0 written, 1 Redis unreachable or FILE not\n"
            "written, 2 usage\n");
}

/* Writes the n bytes of s to path ("-": stdout). 0, or -1 with errno. */
static int write_file(const char *path, const char *s, size_t n)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    int bad;

    if (!fp)
        return -1;
    bad = fwrite(s, 1, n, fp) != n;
    if (fp == stdout)
        bad |= fflush(fp) != 0;
    else
        bad |= fclose(fp) != 0;
    return bad ? -1 : 0;
}

int cmd_page(struct ctl *ctl, int argc, char **argv)
{
    struct supervisor_page_src src = {&ctl->cfg, NULL, clock_now_ms(), 0};
    const char *out = NULL;
    char *html;
    int status = CTL_OK;

    if (ctl_wants_help(argc, argv)) {
        usage(stdout);
        return CTL_OK;
    }
    if (argc == 3 && strcmp(argv[1], "--html") == 0)
        out = argv[2];
    if (!out || !*out) {
        usage(stderr);
        return CTL_USAGE;
    }
    if (!(src.rc = ctl_redis(ctl)))
        return CTL_FINDING;
    if (!(html = supervisor_page_build(&src))) {
        fprintf(stderr, "nudgectl: out of memory\n");
        return CTL_FINDING;
    }
    if (write_file(out, html, strlen(html)) < 0) {
        fprintf(stderr, "nudgectl: %s: %s\n", out, strerror(errno));
        status = CTL_FINDING;
    }
    free(html);
    return status;
}
