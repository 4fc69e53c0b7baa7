/*
 * event.c - decoding and checking events (see event.h).
 */
#include "core/event.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/keys.h"
#include "core/student.h"

static const struct {
    const char *name;
    const char *required[3];
} kinds[] = {
    [EV_CREATED] = {"created", {NULL}},
    [EV_STAGE] = {"stage", {"to", NULL}},
    [EV_TAG] = {"tag", {"tag", NULL}},
    [EV_UNTAG] = {"untag", {"tag", NULL}},
    [EV_ASSIGNED] = {"assigned", {"owner", NULL}},
    [EV_FOLLOWUP] = {"followup", {"staff", NULL}},
    [EV_REPLY] = {"reply", {"channel", NULL}},
    [EV_OPTOUT] = {"optout", {"channel", NULL}},
    [EV_CUSTOM] = {"custom", {NULL}},
};

enum event_kind event_kind_of(const char *type)
{
    for (int k = 0; k < EV_CUSTOM; k++)
        if (strcmp(kinds[k].name, type) == 0)
            return (enum event_kind)k;
    return EV_CUSTOM;
}

const char *event_kind_name(enum event_kind kind)
{
    return kinds[kind].name;
}

const char *const *event_required_fields(enum event_kind kind)
{
    return kinds[kind].required;
}

const char *event_get(const struct event *ev, const char *field)
{
    /* the first letters first: most names differ there, and this runs
     * a dozen times an event */
    for (size_t i = 0; i < ev->nfields; i++)
        if (ev->names[i][0] == field[0] && strcmp(ev->names[i], field) == 0)
            return ev->values[i];
    return NULL;
}

/* By hand: strtoll() costs ten times as much, on every event. */
int64_t event_time_ms(const struct event *ev, int64_t now_ms)
{
    const char *p = ev->id;
    int64_t ms = 0;

    for (; *p >= '0' && *p <= '9' && p - ev->id < 18; p++)
        ms = ms * 10 + (*p - '0');
    return p != ev->id && *p == '-' && ms > 0 ? ms : now_ms;
}

/* A custom type name is a word: a letter, then letters, digits, '_', '-'
 * or '.', at most 64 bytes. Anything else is garbage, not an event. */
static int valid_type_name(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > 64 || !isalpha((unsigned char)s[0]))
        return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' &&
            *p != '.')
            return 0;
    return 1;
}

static int reject(struct event_reject *rej, const char *code, const char *fmt,
                  const char *arg)
{
    rej->code = code;
    snprintf(rej->text, sizeof rej->text, fmt, arg ? arg : "");
    return -1;
}

/* The checks shared by stream entries and made-up events. */
static int event_check(struct event *ev, struct event_reject *rej)
{
    const char *const *req;

    ev->type = event_get(ev, "type");
    ev->student = event_get(ev, "student");
    if (!ev->type || !*ev->type)
        return reject(rej, "no_type", "event has no type%s", NULL);
    if (!valid_type_name(ev->type))
        return reject(rej, "bad_type",
                      "event type \"%.64s\" is not a name (letters, digits, "
                      "_ - .)",
                      ev->type);
    if (!ev->student || !*ev->student)
        return reject(rej, "no_student", "event has no student%s", NULL);
    if (!key_valid_id(ev->student))
        return reject(rej, "bad_student_id",
                      "student id \"%.64s\" is not valid (1-128 bytes, no "
                      "spaces or braces)",
                      ev->student);
    ev->kind = event_kind_of(ev->type);
    for (req = kinds[ev->kind].required; *req; req++) {
        const char *v = event_get(ev, *req);
        if (!v || !*v) {
            rej->code = "missing_field";
            snprintf(rej->text, sizeof rej->text,
                     "%s event has no \"%s\" field", ev->type, *req);
            return -1;
        }
    }
    return 0;
}

int event_decode(const redisReply *entry, struct event *ev,
                 struct event_reject *rej)
{
    const redisReply *fields;

    /* not the field arrays: nfields bounds them, and this runs for every
     * event */
    ev->id = "";
    ev->kind = EV_CREATED;
    ev->type = ev->student = NULL;
    ev->nfields = 0;
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING)
        return reject(rej, "garbage", "stream entry is not [id, fields]%s",
                      NULL);
    ev->id = entry->element[0]->str;
    fields = entry->element[1];
    if (fields->type != REDIS_REPLY_ARRAY || fields->elements % 2 != 0)
        return reject(rej, "garbage", "stream entry has no fields%s", NULL);
    if (fields->elements / 2 > EVENT_MAX_FIELDS)
        return reject(rej, "garbage", "event has more than 32 fields%s",
                      NULL);
    for (size_t i = 0; i < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            return reject(rej, "garbage", "event field is not a string%s",
                          NULL);
        /* A NUL inside a field would make C strings lie about it. */
        if (strlen(k->str) != k->len || strlen(v->str) != v->len)
            return reject(rej, "garbage", "event field holds a NUL byte%s",
                          NULL);
        ev->names[ev->nfields] = k->str;
        ev->values[ev->nfields] = v->str;
        ev->nfields++;
    }
    return event_check(ev, rej);
}

static int apply_created(const struct event *ev, struct student *st)
{
    for (size_t i = 0; i < ev->nfields; i++) {
        if (strcmp(ev->names[i], "type") == 0 ||
            strcmp(ev->names[i], "student") == 0)
            continue;
        if (attrs_put(&st->attrs, ev->names[i], ev->values[i]) < 0)
            return -1;
    }
    return 0;
}

int event_apply(const struct event *ev, struct student *st, int64_t now_ms)
{
    char secs[24];

    switch (ev->kind) {
    case EV_CREATED:
        return apply_created(ev, st);
    case EV_STAGE:
        snprintf(secs, sizeof secs, "%lld", (long long)(now_ms / 1000));
        return attrs_put(&st->attrs, "stage", event_get(ev, "to")) < 0 ||
                       attrs_put(&st->attrs, "stage_at", secs) < 0
                   ? -1
                   : 0;
    case EV_TAG:
        return strset_put(&st->tags, event_get(ev, "tag"));
    case EV_UNTAG:
        strset_remove(&st->tags, event_get(ev, "tag"));
        return 0;
    case EV_ASSIGNED:
        return attrs_put(&st->attrs, "owner", event_get(ev, "owner"));
    case EV_OPTOUT:
        return strset_put(&st->optouts, event_get(ev, "channel"));
    default:
        return 0;
    }
}

int event_from_args(struct event *ev, const char *type, const char *student,
                    char **kv, int nkv, struct event_reject *rej)
{
    memset(ev, 0, sizeof *ev);
    ev->id = "";
    if (nkv + 2 > EVENT_MAX_FIELDS)
        return reject(rej, "garbage", "too many fields%s", NULL);
    ev->names[0] = "type";
    ev->values[0] = type;
    ev->names[1] = "student";
    ev->values[1] = student;
    ev->nfields = 2;
    for (int i = 0; i < nkv; i++) {
        char *eq = strchr(kv[i], '=');
        if (!eq || eq == kv[i])
            return reject(rej, "usage", "\"%.64s\" is not key=value", kv[i]);
        *eq = '\0';
        ev->names[ev->nfields] = kv[i];
        ev->values[ev->nfields] = eq + 1;
        ev->nfields++;
    }
    return event_check(ev, rej);
}
