/*
 * event_write.c - an event and the student data it implies, in one
 * transaction (see event_write.h).
 */
#include "core/event_write.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/keys.h"
#include "core/reply.h"

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

int event_write(struct rconn *rc, const char *prefix, const struct event *ev,
                char *id, size_t idlen, char *err, size_t errlen)
{
    redisReply *r;
    int ok = 0;

    snprintf(err, errlen, "the transaction failed");
    if (rconn_append(rc, "MULTI") < 0 ||
        queue_student_data(rc, prefix, ev) < 0 ||
        queue_event(rc, prefix, ev) < 0 || rconn_append(rc, "EXEC") < 0) {
        snprintf(err, errlen, "%s", rc->errstr);
        return -1;
    }
    /* Replies: +OK, one +QUEUED per command, then EXEC's array. */
    while ((r = rconn_reply(rc)) != NULL) {
        int is_exec = r->type == REDIS_REPLY_ARRAY || r->type == REDIS_REPLY_NIL;
        if (r->type == REDIS_REPLY_ERROR)
            snprintf(err, errlen, "Redis: %s", r->str);
        if (is_exec && r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
            redisReply *last = r->element[r->elements - 1];
            if (last->type == REDIS_REPLY_STRING) {
                snprintf(id, idlen, "%s", last->str);
                ok = 1;
            } else if (last->type == REDIS_REPLY_ERROR) {
                snprintf(err, errlen, "Redis: %s", last->str);
            }
        }
        reply_free(r);
        if (is_exec)
            return ok ? 0 : -1;
    }
    snprintf(err, errlen, "%s", rc->errstr);
    return -1;
}

int event_student_exists(struct rconn *rc, const char *prefix,
                         const char *student)
{
    char key[KEY_MAX];
    redisReply *r;
    int found;

    key_student(key, sizeof key, prefix, student, NULL);
    if (!(r = rconn_cmd(rc, "EXISTS %s", key)))
        return -1;
    found = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    reply_free(r);
    return found;
}
