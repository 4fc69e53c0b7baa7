/*
 * event_record.c - what an event leaves in Redis beside the runs it
 * starts (see event_record.h): its timeline entry, the followup marks
 * that `stop if followed_up` reads, and for an event that cannot be
 * handled, the rejected record and an entry on a known student's
 * timeline. The consumer's writer queues these for a whole batch.
 */
#include "daemon/event_record.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/e164.h"
#include "core/clock.h"
#include "core/join.h"
#include "core/keys.h"
#include "core/timeline.h"

/* The timeline entry an accepted event leaves; 0 when its kind leaves
 * none (created and custom events: the rules they start will). */
static int entry_for_event(const struct event *ev, struct tl_entry *e,
                           char *detail, size_t n)
{
    const char *from, *to, *actor = event_get(ev, "actor");

    *e = (struct tl_entry)TL_ENTRY_INIT;
    e->type = event_kind_name(ev->kind);
    e->event_id = ev->id;
    e->actor = actor ? actor : "crm";
    switch (ev->kind) {
    case EV_STAGE:
        from = event_get(ev, "from");
        to = event_get(ev, "to");
        join(detail, n, from ? from : "?", " -> ", to, NULL);
        e->detail = detail;
        return 1;
    case EV_TAG:
    case EV_UNTAG:
        join(detail, n, ev->kind == EV_TAG ? "added " : "removed ",
             event_get(ev, "tag"), NULL);
        e->type = "tag";
        e->detail = detail;
        return 1;
    case EV_ASSIGNED:
        /* A rule's assignment wrote its entry with the owner, in one
         * MULTI (rules/assign.c). */
        if (event_get(ev, "rule"))
            return 0;
        e->detail = event_get(ev, "owner");
        return 1;
    case EV_FOLLOWUP:
        e->actor = event_get(ev, "staff");
        e->detail = event_get(ev, "note");
        return 1;
    case EV_REPLY:
        e->channel = event_get(ev, "channel");
        e->detail = event_get(ev, "text");
        e->actor = "student";
        return 1;
    case EV_OPTOUT:
        e->channel = event_get(ev, "channel");
        e->detail = event_get(ev, "detail");
        return 1;
    default:
        return 0;
    }
}

/* The original fields as one JSON object, for the rejected record. */
static char *fields_json(const struct event *ev)
{
    json_t *obj = json_object();
    char *s;

    for (size_t i = 0; i < ev->nfields; i++)
        json_object_set_new(obj, ev->names[i], json_string(ev->values[i]));
    s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(obj);
    return s;
}

/* The rejected record: the reason, the event's id and its fields. */
static int queue_rejected(struct resp *out, const struct config *cfg,
                          const char *stream, const struct event *ev,
                          const struct event_reject *rej)
{
    char *fields = fields_json(ev);
    const char *argv[] = {"XADD",   stream,
                          "MAXLEN", "~",
                          NULL,     "*",
                          "reason", rej->code,
                          "detail", rej->text,
                          "event",  ev->id,
                          "fields", fields ? fields : "{}"};
    const int argc = (int)(sizeof argv / sizeof argv[0]);

    resp_begin(out, argc);
    for (int i = 0; i < argc; i++) {
        if (argv[i])
            resp_str(out, argv[i]);
        else
            resp_long(out, cfg->daemon.rejected_maxlen);
    }
    free(fields);
    return out->failed ? -1 : 0;
}

/* A followup is a touch, and the time `stop if followed_up` compares with
 * a run's start: one HSET of both into the student's hash, where every
 * step's fresh load of the student finds them at no extra cost. (Two
 * daemons handling two followups of one student out of order within the
 * same instant could leave the older time; a run would have to start in
 * that instant to notice.) Returns the number of commands queued. */
static int queue_followup_marks(struct resp *out, const struct config *cfg,
                                const struct event *ev)
{
    char key[KEY_MAX];
    long long ms = event_time_ms(ev, clock_now_ms());

    key_student(key, sizeof key, cfg->redis.prefix, ev->student, NULL);
    resp_begin(out, 6);
    resp_arg(out, "HSET", 4);
    resp_str(out, key);
    resp_str(out, FIELD_FOLLOWUP_AT);
    resp_long(out, ms);
    resp_str(out, FIELD_LAST_TOUCH_AT);
    resp_long(out, ms / 1000);
    return 1;
}

/* The entry of a rejected event, on the timeline of a known student. */
static int queue_rejected_entry(struct resp *out, const struct config *cfg,
                                const struct event *ev,
                                const struct event_reject *rej)
{
    struct tl_entry e = TL_ENTRY_INIT;

    e.type = "rejected";
    e.detail = rej->text;
    e.event_id = ev->id;
    e.actor = "nudged";
    return timeline_format(out, cfg->redis.prefix, ev->student,
                           cfg->redis.timeline_maxlen, &e);
}

int event_record_rejected(struct resp *out, const struct config *cfg,
                          const char *stream, const struct event *ev,
                          const struct event_reject *rej, int known,
                          int *replies, int *entries)
{
    if (queue_rejected(out, cfg, stream, ev, rej) < 0)
        return -1;
    ++*replies;
    if (!known)
        return 0;
    if (queue_rejected_entry(out, cfg, ev, rej) < 0)
        return -1;
    ++*replies;
    ++*entries;
    return 0;
}

/* The phone index entry of a created student with a phone nudge can
 * read (a number it cannot is left out: no reply could name it). Returns
 * the number of commands queued. */
static int queue_phone_index(struct resp *out, const struct config *cfg,
                             const struct event *ev)
{
    const char *phone = event_get(ev, "phone");
    char e164[E164_MAX], key[KEY_MAX];

    if (!phone || e164_normalise(phone, e164) < 0 ||
        key_phone(key, sizeof key, cfg->redis.prefix, e164) < 0)
        return 0;
    resp_begin(out, 3);
    resp_arg(out, "SET", 3);
    resp_str(out, key);
    resp_str(out, ev->student);
    return 1;
}

/* SADD or SREM of member(s) on the student's optout set. */
static void queue_optout_change(struct resp *out, const struct config *cfg,
                                const struct event *ev, int add,
                                const char *member, const char *also)
{
    char key[KEY_MAX];

    key_student(key, sizeof key, cfg->redis.prefix, ev->student, KEY_OPTOUT);
    resp_begin(out, also ? 4 : 3);
    resp_arg(out, add ? "SADD" : "SREM", 4);
    resp_str(out, key);
    resp_str(out, member);
    if (also)
        resp_str(out, also);
}

/* An opt-in forgets that the opt-out was confirmed, so that the next
 * opt-out is confirmed again (rules/consent_confirm.h). */
static int queue_forget_confirmation(struct resp *out, const struct config *cfg,
                                     const struct event *ev, const char *member)
{
    char key[KEY_MAX];

    if (consent_confirmed_key(key, sizeof key, cfg->redis.prefix, ev->student,
                              member) < 0)
        return -1;
    resp_begin(out, 2);
    resp_arg(out, "DEL", 3);
    resp_str(out, key);
    return 0;
}

int event_record_consent(struct resp *out, const struct config *cfg,
                         const struct consent *c, const struct event *ev,
                         enum consent_verdict *verdict, int *replies,
                         int *entries)
{
    const char *channel = event_get(ev, "channel"), *member;
    struct tl_entry e = TL_ENTRY_INIT;
    char detail[400];
    int add;

    *verdict = ev->kind == EV_REPLY ? consent_verdict(c, event_get(ev, "text"))
                                    : CONSENT_NONE;
    if (*verdict == CONSENT_NONE)
        return 0;
    add = *verdict == CONSENT_OPTOUT;
    member = consent_member(c, channel);
    /* An opt-in undoes what a reply's opt-out could have set: the
     * channel, and with optout_scope = all, "all" too. */
    queue_optout_change(out, cfg, ev, add, member,
                        !add && c->scope_all && channel && *channel ? channel
                                                                    : NULL);
    if (!add && queue_forget_confirmation(out, cfg, ev, member) < 0)
        return -1;
    snprintf(detail, sizeof detail, "reply \"%.200s\": %s %s",
             event_get(ev, "text"), add ? "opted out of" : "opted in to",
             strcmp(member, "all") == 0 ? "every channel" : member);
    e.type = add ? "optout" : "optin";
    e.channel = member;
    e.detail = detail;
    e.event_id = ev->id;
    e.actor = "student";
    if (timeline_format(out, cfg->redis.prefix, ev->student,
                        cfg->redis.timeline_maxlen, &e) < 0)
        return -1;
    *replies += add ? 2 : 3;
    ++*entries;
    return out->failed ? -1 : 0;
}

int event_record_accepted(struct resp *out, const struct config *cfg,
                          const struct event *ev, int *replies, int *entries)
{
    struct tl_entry e;
    char detail[300];

    if (ev->kind == EV_CREATED)
        *replies += queue_phone_index(out, cfg, ev);
    if (!entry_for_event(ev, &e, detail, sizeof detail))
        return out->failed ? -1 : 0;
    if (timeline_format(out, cfg->redis.prefix, ev->student,
                        cfg->redis.timeline_maxlen, &e) < 0)
        return -1;
    ++*replies;
    ++*entries;
    if (ev->kind == EV_FOLLOWUP)
        *replies += queue_followup_marks(out, cfg, ev);
    return 0;
}
