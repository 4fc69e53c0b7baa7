/*
 * cmd_optin.c - nudgectl optin STUDENT [CHANNEL|all]: takes a student's
 * opt-out back, when they asked the school in person or by phone: SREM
 * the channel from slm:student:{ID}:optout (all: the whole set), with an
 * `optin` entry on the timeline, in one MULTI. Replies with an opt-in
 * word do the same through the consumer (core/consent.h).
 */
#include <stdio.h>
#include <string.h>

#include "cli/ctl.h"
#include "core/consent.h"
#include "core/event_write.h"
#include "core/keys.h"
#include "core/reply.h"
#include "core/timeline.h"

static void optin_usage(FILE *fp)
{
    fprintf(fp,
            "usage: nudgectl -c FILE optin STUDENT [CHANNEL|all]\n\n"
            "Removes the student's opt-out of CHANNEL (a channel type: sms,\n"
            "email, wecom), or every opt-out with all (the default), and\n"
            "writes an optin entry on the timeline.\n");
}

/* DEL of the confirmation marks the opt-in lifts (core/consent.h), so
 * that the next opt-out is confirmed again. */
static int append_forget_confirmations(struct rconn *rc,
                                       const struct config *cfg,
                                       const char *student,
                                       const char *channel)
{
    static const char *const every[] = {"all", "sms", "email", "wecom"};
    const char *argv[6] = {"DEL"};
    char keys[4][KEY_MAX];
    int n = strcmp(channel, "all") == 0 ? 4 : 1;

    for (int i = 0; i < n; i++) {
        consent_confirmed_key(keys[i], sizeof keys[i], cfg->redis.prefix,
                              student, n == 1 ? channel : every[i]);
        argv[i + 1] = keys[i];
    }
    return rconn_appendargv(rc, n + 1, argv, NULL);
}

/* SREM (or DEL for all), the confirmation marks and the entry, in one
 * MULTI. 0 or -1. */
static int write_optin(struct rconn *rc, const struct config *cfg,
                       const char *student, const char *channel)
{
    struct tl_entry e = TL_ENTRY_INIT;
    char key[KEY_MAX], detail[160];
    int all = strcmp(channel, "all") == 0;

    key_student(key, sizeof key, cfg->redis.prefix, student, KEY_OPTOUT);
    snprintf(detail, sizeof detail, "opted in to %s again (nudgectl optin)",
             all ? "every channel" : channel);
    e.type = "optin";
    e.channel = channel;
    e.detail = detail;
    e.actor = "nudgectl";
    if (rconn_append(rc, "MULTI") < 0 ||
        (all ? rconn_append(rc, "DEL %s", key)
             : rconn_append(rc, "SREM %s %s", key, channel)) < 0 ||
        append_forget_confirmations(rc, cfg, student, channel) < 0 ||
        timeline_append_cmd(rc, cfg->redis.prefix, student,
                            cfg->redis.timeline_maxlen, &e) < 0 ||
        rconn_append(rc, "EXEC") < 0)
        return -1;
    return rconn_exec_errors(rc, 4) == 0 ? 0 : -1; /* MULTI, SREM, DEL, XADD */
}

/* 1 when the student still refuses everything (an `all` the channel's
 * opt-in does not lift), 0 when not. */
static int still_all(struct rconn *rc, const struct config *cfg,
                     const char *student)
{
    char key[KEY_MAX];
    redisReply *r;
    int yes;

    key_student(key, sizeof key, cfg->redis.prefix, student, KEY_OPTOUT);
    if (!(r = rconn_cmd(rc, "SISMEMBER %s all", key)))
        return 0;
    yes = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    reply_free(r);
    return yes;
}

int cmd_optin(struct ctl *ctl, int argc, char **argv)
{
    const char *student, *channel;
    struct rconn *rc;
    int got;

    if (ctl_wants_help(argc, argv)) {
        optin_usage(stdout);
        return CTL_OK;
    }
    if (argc < 2 || argc > 3) {
        optin_usage(stderr);
        return CTL_USAGE;
    }
    student = argv[1];
    channel = argc == 3 ? argv[2] : "all";
    if (!key_valid_id(student) || !key_valid_id(channel)) {
        fprintf(stderr, "nudgectl: optin: \"%s\" is not a valid %s\n",
                key_valid_id(student) ? channel : student,
                key_valid_id(student) ? "channel" : "student id");
        return CTL_USAGE;
    }
    if (!(rc = ctl_redis(ctl)))
        return CTL_FINDING;
    if ((got = event_student_exists(rc, ctl->cfg.redis.prefix, student)) <= 0) {
        fprintf(stderr, "nudgectl: optin: %s\n",
                got < 0 ? rc->errstr : "no such student");
        return CTL_FINDING;
    }
    if (write_optin(rc, &ctl->cfg, student, channel) < 0) {
        fprintf(stderr, "nudgectl: optin: Redis: %s\n", rc->errstr);
        return CTL_FINDING;
    }
    printf("student %s: opted in to %s\n", student,
           strcmp(channel, "all") == 0 ? "every channel" : channel);
    if (strcmp(channel, "all") != 0 && still_all(rc, &ctl->cfg, student))
        printf("note: the student still refuses every channel (all): "
               "nudgectl optin %s all lifts that\n", student);
    return CTL_OK;
}
