/*
 * nudgectl.c - the command-line tool of recruiters, integrators and
 * operators: nudgectl -c FILE COMMAND [ARGS]. It loads the config, then
 * hands over to the command's cmd_*() function (cli/cmd_*.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/ctl.h"
#include "core/clock.h"
#include "core/log.h"

static const struct command {
    const char *name;
    int (*run)(struct ctl *ctl, int argc, char **argv);
    const char *usage;
} commands[] = {
    {"check", cmd_check, "check                      rules and templates"},
    {"simulate", cmd_simulate,
     "simulate STUDENT [--event TYPE key=value...] [--at TIME]"},
    {"render", cmd_render, "render TEMPLATE STUDENT [CHANNEL]"},
    {"timeline", cmd_timeline, "timeline STUDENT [--unmasked]"},
    {"emit", cmd_emit, "emit TYPE STUDENT [key=value ...]"},
    {"queue", cmd_queue, "queue [stats|dead|retry ID]"},
    {"overdue", cmd_overdue, "overdue [--team T] [--owner S] [--json]"},
    {"leads", cmd_leads, "leads STAFF [--json]"},
    {"doctor", cmd_doctor, "doctor                     students' data nudge cannot use"},
    {"optin", cmd_optin, "optin STUDENT [CHANNEL|all]"},
    {"forget", cmd_forget, "forget STUDENT [--all]"},
    {"pause", cmd_pause, "pause [--channel C] [--rule R]"},
    {"resume", cmd_resume, "resume [--channel C] [--rule R]"},
    {"diff", cmd_diff, "diff OLD_RULES_DIR NEW_RULES_DIR [--json]"},
    {"forecast", cmd_forecast,
     "forecast [--days N] [--rule R] [--rules-dir DIR] [--json]"},
    {"page", cmd_page, "page --html FILE            as report --html FILE"},
    {"report", cmd_report,
     "report [RULE] [--since DATE] [--json] | report --html FILE (the "
     "supervisors' page)"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *fp)
{
    fprintf(fp, "usage: nudgectl [-c FILE] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(fp, "  %s\n", commands[i].usage);
    fprintf(fp, "\n-c FILE     the config (default /etc/nudge/nudged.conf)\n"
                "-h, --help  this text\n"
                "--version   the version\n"
                "COMMAND --help describes each command; see nudgectl(1).\n");
}

struct rconn *ctl_redis(struct ctl *ctl)
{
    if (ctl->rc)
        return ctl->rc;
    ctl->rc = rconn_new(&ctl->cfg, NULL);
    if (!ctl->rc) {
        fprintf(stderr, "nudgectl: out of memory\n");
        return NULL;
    }
    if (rconn_connect(ctl->rc) < 0) {
        fprintf(stderr, "nudgectl: %s\n", ctl->rc->errstr);
        rconn_free(ctl->rc);
        ctl->rc = NULL;
        ctl->redis_failed = 1;
    }
    return ctl->rc;
}

int ctl_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *conf = "/etc/nudge/nudged.conf";
    struct ctl ctl;
    struct diag d = {0};
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int ch, status;

    while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            conf = optarg;
            break;
        case 'h':
            usage(stdout);
            return CTL_OK;
        case 'V':
            printf("nudgectl %s\n", NUDGE_VERSION);
            return CTL_OK;
        default:
            usage(stderr);
            return CTL_USAGE;
        }
    }
    argc -= optind;
    argv += optind;
    if (argc < 1) {
        usage(stderr);
        return CTL_USAGE;
    }
    log_init("nudgectl", 1, LOG_LVL_WARN);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[0], commands[i].name) != 0)
            continue;
        memset(&ctl, 0, sizeof ctl);
        /* --help works without a config. */
        if (ctl_wants_help(argc, argv) ? config_defaults(&ctl.cfg) < 0
                                       : config_load(conf, &ctl.cfg, &d) < 0) {
            diag_print(&d, stderr);
            diag_clear(&d);
            config_free(&ctl.cfg);
            return CTL_USAGE;
        }
        clock_set_zone(ctl.cfg.delivery.timezone);
        if (ctl.cfg.daemon.test_clock &&
            clock_use_file(ctl.cfg.daemon.test_clock) < 0) {
            fprintf(stderr, "nudgectl: [daemon] test_clock: cannot read %s\n",
                    ctl.cfg.daemon.test_clock);
            config_free(&ctl.cfg);
            return CTL_USAGE;
        }
        status = commands[i].run(&ctl, argc, argv);
        if (ctl.rc && ctl.rc->err) /* lost, or no answer in time */
            fprintf(stderr, "nudgectl: giving up: %s\n", ctl.rc->errstr);
        if (ctl.redis_failed || (ctl.rc && ctl.rc->err))
            status = CTL_USAGE;
        rconn_free(ctl.rc);
        config_free(&ctl.cfg);
        diag_clear(&d);
        return status;
    }
    fprintf(stderr, "nudgectl: unknown command \"%s\"\n", argv[0]);
    usage(stderr);
    return CTL_USAGE;
}
