/*
 * cmd_emit.c - nudgectl emit TYPE STUDENT [key=value ...]: writes an event
 * as an integrator would, together with the student data it implies
 * (core/event_write.h), after refusing an unknown student; a stage event
 * without `from` gets the student's current stage, and one whose `to` the
 * rules' `stages` line does not list is refused (a typo would start no
 * rule, silently) unless --force.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"
#include "core/event.h"
#include "core/event_write.h"
#include "core/keys.h"
#include "core/reply.h"
#include "rules/checker.h"
#include "rules/compile.h"
#include "rules/hint.h"

static void emit_usage(FILE *fp)
{
    fprintf(fp,
            "usage: nudgectl -c FILE emit [--force] TYPE STUDENT "
            "[key=value ...]\n\n"
            "Writes an event to the events stream, and the student data it\n"
            "implies, in one transaction, as a CRM integration would:\n"
            "  created  name=... phone=...   the student's attributes\n"
            "  stage    to=consulting        sets stage and stage_at\n"
            "  tag      tag=intent:high      adds the tag (untag removes it)\n"
            "  assigned owner=s7             sets the owner\n"
            "  optout   channel=sms          adds the opt-out\n"
            "  followup staff=s7 note=...    reply channel=sms text=...\n"
            "  any other name: a custom event with the fields given\n"
            "A stage the rules' `stages` line does not list is refused,\n"
            "unless --force.\n");
}

/* Whether stage is one the rules' `stages` line lists: 1 yes (or the
 * rules list none), 0 no (said on stderr, with the nearest name), -1 the
 * rules cannot be read (said). */
static int stage_known(const struct ctl *ctl, const char *stage)
{
    struct rules_env env = {0};
    struct ruleset *set = NULL;
    struct diag d = {0};
    char msg[300];
    int known = -1;

    if (rules_env_from_config(&env, &ctl->cfg) == 0 &&
        ruleset_load_dir(ctl->cfg.rules.dir, &env, &set, &d) == 0) {
        known = set->stages.n == 0 || intern_find(&set->stages, stage) >= 0;
        if (!known) {
            snprintf(msg, sizeof msg,
                     "nudgectl: emit: stage \"%s\" is not on the rules' "
                     "stages line",
                     stage);
            hint_append(msg, sizeof msg, stage,
                        (const char *const *)set->stages.names,
                        set->stages.n);
            fprintf(stderr, "%s (--force sends it anyway)\n", msg);
        }
    } else {
        fprintf(stderr, "nudgectl: emit: cannot read the rules to check the "
                        "stage (nudgectl check says why); --force sends it "
                        "anyway\n");
    }
    if (set)
        ruleset_free(set);
    rules_env_free(&env);
    diag_clear(&d);
    return known;
}

/* The student's current stage, for `from` (NULL when none). Caller
 * frees. */
static char *current_stage(struct rconn *rc, const char *key)
{
    redisReply *r = rconn_cmd(rc, "HGET %s stage", key);
    char *s = NULL;

    if (r && r->type == REDIS_REPLY_STRING)
        s = strdup(r->str);
    if (r)
        reply_free(r);
    return s;
}

int cmd_emit(struct ctl *ctl, int argc, char **argv)
{
    struct event ev;
    struct event_reject rej;
    struct rconn *rc;
    char *from = NULL, key[KEY_MAX], id[64], err[256];
    char **kv;
    int status = CTL_OK, nkv, force = 0;

    if (ctl_wants_help(argc, argv)) {
        emit_usage(stdout);
        return CTL_OK;
    }
    if (argc > 1 && strcmp(argv[1], "--force") == 0) {
        force = 1;
        argv[1] = argv[0]; /* the rest reads as without it */
        argv++;
        argc--;
    }
    if (argc < 3) {
        emit_usage(stderr);
        return CTL_USAGE;
    }
    /* Room for a `from` we may add. */
    nkv = argc - 3;
    if (!(kv = calloc((size_t)nkv + 1, sizeof *kv)))
        return CTL_USAGE;
    memcpy(kv, argv + 3, (size_t)nkv * sizeof *kv);
    if (event_from_args(&ev, argv[1], argv[2], kv, nkv, &rej) < 0) {
        fprintf(stderr, "nudgectl: emit: %s\n", rej.text);
        free(kv);
        return CTL_USAGE;
    }
    if (ev.kind == EV_STAGE && !force && event_get(&ev, "to") &&
        stage_known(ctl, event_get(&ev, "to")) != 1) {
        free(kv);
        return CTL_FINDING;
    }
    if (!(rc = ctl_redis(ctl))) {
        free(kv);
        return CTL_FINDING;
    }
    key_student(key, sizeof key, ctl->cfg.redis.prefix, ev.student, NULL);
    if (ev.kind != EV_CREATED &&
        event_student_exists(rc, ctl->cfg.redis.prefix, ev.student) == 0) {
        fprintf(stderr,
                "nudgectl: emit: no student \"%s\" (emit created %s "
                "name=... first)\n",
                ev.student, ev.student);
        free(kv);
        return CTL_FINDING;
    }
    if (ev.kind == EV_STAGE && !event_get(&ev, "from") &&
        ev.nfields < EVENT_MAX_FIELDS) {
        if ((from = current_stage(rc, key)) != NULL) {
            ev.names[ev.nfields] = "from";
            ev.values[ev.nfields] = from;
            ev.nfields++;
        }
    }
    if (event_write(rc, ctl->cfg.redis.prefix, &ev, id, sizeof id, err,
                    sizeof err) < 0) {
        fprintf(stderr, "nudgectl: emit failed: %s\n", err);
        status = CTL_FINDING;
    } else {
        printf("%s\n", id);
    }
    free(from);
    free(kv);
    return status;
}
