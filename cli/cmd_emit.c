/*
 * cmd_emit.c - nudgectl emit TYPE STUDENT [key=value ...]: writes an event
 * as an integrator would, together with the student data it implies, in
 * one MULTI/EXEC so that no daemon ever sees one without the other:
 *
 *   created   key=value pairs are the student's attributes (HSET)
 *   stage     to=S [from=S]: HSET stage, stage_at (from defaults to the
 *             current stage)
 *   tag       tag=T: SADD tags        untag  tag=T: SREM tags
 *   assigned  owner=ID: HSET owner
 *   optout    channel=C: SADD optout
 *   followup, reply and custom types: the event only
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/ctl.h"
#include "core/clock.h"
#include "core/event.h"
#include "core/keys.h"

static void emit_usage(FILE *fp)
{
    fprintf(fp,
            "usage: nudgectl -c FILE emit TYPE STUDENT [key=value ...]\n\n"
            "Writes an event to the events stream, and the student data it\n"
            "implies, in one transaction, as a CRM integration would:\n"
            "  created  name=... phone=...   the student's attributes\n"
            "  stage    to=consulting        sets stage and stage_at\n"
            "  tag      tag=intent:high      adds the tag (untag removes it)\n"
            "  assigned owner=s7             sets the owner\n"
            "  optout   channel=sms          adds the opt-out\n"
            "  followup staff=s7 note=...    reply channel=sms text=...\n"
            "  any other name: a custom event with the fields given\n");
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
        freeReplyObject(r);
    return s;
}

/* 1 when the student's hash exists, 0 when not, -1 on error. */
static int student_exists(struct rconn *rc, const char *key)
{
    redisReply *r = rconn_cmd(rc, "EXISTS %s", key);
    int found;

    if (!r)
        return -1;
    found = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return found;
}

/* Queues the write of the student data the event implies. */
static int queue_student_data(struct rconn *rc, const char *prefix,
                              const struct event *ev)
{
    char key[KEY_MAX], now[32];

    key_student(key, sizeof key, prefix, ev->student, NULL);
    switch (ev->kind) {
    case EV_CREATED:
        for (size_t i = 0; i < ev->nfields; i++) {
            if (strcmp(ev->names[i], "type") == 0 ||
                strcmp(ev->names[i], "student") == 0)
                continue;
            if (rconn_append(rc, "HSET %s %s %s", key, ev->names[i],
                             ev->values[i]) < 0)
                return -1;
        }
        return 0;
    case EV_STAGE:
        snprintf(now, sizeof now, "%lld",
                 (long long)(clock_now_ms() / 1000));
        return rconn_append(rc, "HSET %s stage %s stage_at %s", key,
                            event_get(ev, "to"), now);
    case EV_ASSIGNED:
        return rconn_append(rc, "HSET %s owner %s", key,
                            event_get(ev, "owner"));
    case EV_TAG:
    case EV_UNTAG:
        key_student(key, sizeof key, prefix, ev->student, KEY_TAGS);
        return rconn_append(rc, "%s %s %s", ev->kind == EV_TAG ? "SADD" : "SREM",
                            key, event_get(ev, "tag"));
    case EV_OPTOUT:
        key_student(key, sizeof key, prefix, ev->student, KEY_OPTOUT);
        return rconn_append(rc, "SADD %s %s", key, event_get(ev, "channel"));
    default:
        return 0;
    }
}

static int queue_event(struct rconn *rc, const char *prefix,
                       const struct event *ev)
{
    char stream[KEY_MAX];
    const char *argv[3 + 2 * EVENT_MAX_FIELDS];
    int argc = 0;

    key_global(stream, sizeof stream, prefix, "events");
    argv[argc++] = "XADD";
    argv[argc++] = stream;
    argv[argc++] = "*";
    for (size_t i = 0; i < ev->nfields; i++) {
        argv[argc++] = ev->names[i];
        argv[argc++] = ev->values[i];
    }
    return rconn_appendargv(rc, argc, argv, NULL);
}

/* MULTI, the data, the event, EXEC; prints the event's id. */
static int write_event(struct rconn *rc, const char *prefix,
                       const struct event *ev)
{
    redisReply *r;
    int ok = 0;

    if (rconn_append(rc, "MULTI") < 0 ||
        queue_student_data(rc, prefix, ev) < 0 ||
        queue_event(rc, prefix, ev) < 0 || rconn_append(rc, "EXEC") < 0)
        return -1;
    /* Replies: +OK, one +QUEUED per command, then EXEC's array. */
    while ((r = rconn_reply(rc)) != NULL) {
        int is_exec = r->type == REDIS_REPLY_ARRAY || r->type == REDIS_REPLY_NIL;
        if (r->type == REDIS_REPLY_ERROR)
            fprintf(stderr, "nudgectl: Redis: %s\n", r->str);
        if (is_exec) {
            if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
                redisReply *id = r->element[r->elements - 1];
                if (id->type == REDIS_REPLY_STRING) {
                    printf("%s\n", id->str);
                    ok = 1;
                }
            }
            freeReplyObject(r);
            break;
        }
        freeReplyObject(r);
    }
    return ok ? 0 : -1;
}

int cmd_emit(struct ctl *ctl, int argc, char **argv)
{
    struct event ev;
    struct event_reject rej;
    struct rconn *rc;
    char *from = NULL, key[KEY_MAX];
    char **kv;
    int status = CTL_OK, nkv;

    if (ctl_wants_help(argc, argv)) {
        emit_usage(stdout);
        return CTL_OK;
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
    if (!(rc = ctl_redis(ctl))) {
        free(kv);
        return CTL_FINDING;
    }
    key_student(key, sizeof key, ctl->cfg.redis.prefix, ev.student, NULL);
    /* Data for a student the CRM never created is a typo, not an event. */
    if (ev.kind != EV_CREATED && student_exists(rc, key) == 0) {
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
    if (write_event(rc, ctl->cfg.redis.prefix, &ev) < 0) {
        fprintf(stderr, "nudgectl: emit failed%s%s\n", rc->errstr[0] ? ": " : "",
                rc->errstr);
        status = CTL_FINDING;
    }
    free(from);
    free(kv);
    return status;
}
