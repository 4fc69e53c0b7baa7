/*
 * cmd_page.c - nudgectl report --html FILE (and its older name, nudgectl
 * page --html FILE): writes the supervisors' page
 * (rules/supervisor_page.h) to a file, the same page nudged serves at
 * /report, built by the same function, for mailing or archiving. Its
 * forecast is computed here, once, before the page is built (nudged
 * computes it in the background instead). It has no channel figures:
 * those live in the daemon's memory.
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
            "The same as `nudgectl report --html FILE`: writes the\n"
            "supervisors' page (what nudged serves at /report: the report,\n"
            "overdue leads, the queue's health, the forecast; the channels'\n"
            "figures are only on the live page) to FILE, \"-\" for stdout.\n"
            "One HTML file with nothing to fetch; contacts are masked.\n"
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

int ctl_write_page(struct ctl *ctl, const char *out)
{
    struct supervisor_forecast f = {.state = SUPERVISOR_FORECAST_PENDING};
    struct supervisor_page_src src = {&ctl->cfg, NULL, clock_now_ms(), 0, &f};
    struct forecast_read fr;
    char *html, err[400];
    int status = CTL_OK;

    if (!(src.rc = ctl_redis(ctl)))
        return CTL_FINDING;
    if (supervisor_forecast_compute(&fr, &ctl->cfg, src.rc, src.now_ms, NULL,
                                    err, sizeof err) == 0) {
        f.state = SUPERVISOR_FORECAST_READY;
        f.fr = &fr;
        f.at_ms = src.now_ms;
    } else {
        f.error = err;
    }
    html = supervisor_page_build(&src);
    forecast_read_free(&fr);
    if (!html) {
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

int cmd_page(struct ctl *ctl, int argc, char **argv)
{
    const char *out = NULL;

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
    return ctl_write_page(ctl, out);
}
