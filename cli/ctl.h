/*
 * ctl.h - what every nudgectl command shares: the loaded config and a
 * Redis connection made on first use. One cmd_*.c file per command; the
 * table in nudgectl.c maps names to them.
 *
 * Exit statuses (DESIGN.md): 0 success, 1 a finding (check errors, a
 * student not found), 2 a usage or config error.
 */
#ifndef NUDGE_CTL_H
#define NUDGE_CTL_H

#include "core/config.h"
#include "core/redis.h"

#define CTL_OK 0
#define CTL_FINDING 1
#define CTL_USAGE 2

struct ctl {
    struct config cfg;
    struct rconn *rc; /* NULL until ctl_redis() */
    int redis_failed; /* ctl_redis() could not connect */
};

/* The connection, made on first call (one attempt: a tool fails fast;
 * every reply awaited at most [redis] timeout). NULL after printing why.
 * A command whose Redis failed (no connection, no answer in time) exits
 * 2, whatever it returns. */
struct rconn *ctl_redis(struct ctl *ctl);

/* True when argv has "-h" or "--help" (then the command prints its
 * usage to stdout and returns CTL_OK). */
int ctl_wants_help(int argc, char **argv);

/* The commands: argv[0] is the command's name. */
int cmd_check(struct ctl *ctl, int argc, char **argv);
int cmd_simulate(struct ctl *ctl, int argc, char **argv);
int cmd_render(struct ctl *ctl, int argc, char **argv);
int cmd_timeline(struct ctl *ctl, int argc, char **argv);
int cmd_emit(struct ctl *ctl, int argc, char **argv);
int cmd_queue(struct ctl *ctl, int argc, char **argv);
int cmd_overdue(struct ctl *ctl, int argc, char **argv);
int cmd_leads(struct ctl *ctl, int argc, char **argv);
int cmd_doctor(struct ctl *ctl, int argc, char **argv);
int cmd_optin(struct ctl *ctl, int argc, char **argv);
int cmd_forget(struct ctl *ctl, int argc, char **argv);
int cmd_pause(struct ctl *ctl, int argc, char **argv);
int cmd_resume(struct ctl *ctl, int argc, char **argv);
int cmd_diff(struct ctl *ctl, int argc, char **argv);
int cmd_forecast(struct ctl *ctl, int argc, char **argv);
int cmd_page(struct ctl *ctl, int argc, char **argv);
int cmd_report(struct ctl *ctl, int argc, char **argv);

/* Writes the supervisors' page to path ("-": stdout), its forecast
 * computed once here (cmd_page.c): what `report --html` and `page --html`
 * do. Returns the exit status (CTL_OK, or CTL_FINDING with the reason on
 * stderr). */
int ctl_write_page(struct ctl *ctl, const char *path);

#endif
