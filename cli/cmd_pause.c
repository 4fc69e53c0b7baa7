/*
 * cmd_pause.c - nudgectl pause|resume [--channel C] [--rule R]: stop and
 * restart sends on every daemon at once (core/pause.h). With no option,
 * pause stops everything and resume lifts every pause. Paused sends wait
 * in the queue and go out once after resume; `nudgectl queue stats` shows
 * what is paused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/ctl.h"
#include "core/keys.h"
#include "core/pause.h"

static void usage(FILE *fp, const char *cmd)
{
    fprintf(fp,
            "usage: nudgectl %s [--channel C] [--rule R]\n"
            "  no option: %s\n"
            "exit status: 0 ok, 1 nothing to resume, 2 usage or Redis "
            "error\n",
            cmd,
            strcmp(cmd, "pause") == 0 ? "every send, notice and alert"
                                      : "lift every pause");
}

/* --channel and --rule; -1 on a usage error. */
static int parse(int argc, char **argv, const char **channel,
                 const char **rule)
{
    for (int i = 1; i < argc; i++) {
        const char **to = strcmp(argv[i], "--channel") == 0 ? channel
                          : strcmp(argv[i], "--rule") == 0  ? rule
                                                            : NULL;
        if (!to || i + 1 >= argc || !key_valid_id(argv[i + 1]))
            return -1;
        *to = argv[++i];
    }
    return 0;
}

/* A pause of a channel the config does not have would hold nothing: a
 * typo. (A resume may name one: its channel left the config.) */
static int known_channel(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nchannels; i++)
        if (strcmp(cfg->channels[i].name, name) == 0)
            return 1;
    fprintf(stderr, "nudgectl: pause: no channel \"%s\" in the config\n",
            name);
    return 0;
}

static int pause_or_resume(struct ctl *ctl, int argc, char **argv, int on)
{
    const char *channel = NULL, *rule = NULL, *user = getenv("USER");
    char field[300];
    struct rconn *rc;
    long long n;

    if (ctl_wants_help(argc, argv)) {
        usage(stdout, argv[0]);
        return CTL_OK;
    }
    if (parse(argc, argv, &channel, &rule) < 0 ||
        pause_field(field, sizeof field, channel, rule) < 0) {
        usage(stderr, argv[0]);
        return CTL_USAGE;
    }
    if (on && channel && !known_channel(&ctl->cfg, channel))
        return CTL_USAGE;
    if (!(rc = ctl_redis(ctl)))
        return CTL_USAGE;
    if (on) {
        if (pause_set(rc, ctl->cfg.redis.prefix, field,
                      user && *user ? user : "unknown",
                      (int64_t)time(NULL) * 1000) < 0)
            goto fail;
        printf("paused: %s (within %d ms on every daemon)\n", field,
               PAUSE_CACHE_MS);
        return CTL_OK;
    }
    n = pause_clear(rc, ctl->cfg.redis.prefix,
                    channel || rule ? field : NULL);
    if (n < 0)
        goto fail;
    if (n == 0) {
        printf("nothing was paused%s%s\n", channel || rule ? " as " : "",
               channel || rule ? field : "");
        return CTL_FINDING;
    }
    printf("resumed: %s\n", channel || rule ? field : "everything");
    return CTL_OK;
fail:
    fprintf(stderr, "nudgectl: %s: Redis: %s\n", argv[0], rc->errstr);
    return CTL_USAGE;
}

int cmd_pause(struct ctl *ctl, int argc, char **argv)
{
    return pause_or_resume(ctl, argc, argv, 1);
}

int cmd_resume(struct ctl *ctl, int argc, char **argv)
{
    return pause_or_resume(ctl, argc, argv, 0);
}
