/*
 * event.h - one entry of the slm:events stream, decoded and checked.
 *
 * The CRM (and nudge itself, for tag/untag/assigned it causes) writes
 * events with XADD: always `type` and `student`, and per type the fields
 * of docs/redis.md. nudged's consumer decodes each entry with
 * event_decode(); an entry that fails names a reason (a short code for the
 * metrics label, and a sentence for the log) and is acknowledged and
 * recorded, never retried.
 *
 * Ownership: an event borrows every string from what it was decoded from
 * (a hiredis reply, or argv for `nudgectl simulate --event`); it is valid
 * as long as that is. Nothing to free.
 */
#ifndef NUDGE_EVENT_H
#define NUDGE_EVENT_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

struct student;

#define EVENT_MAX_FIELDS 32

enum event_kind {
    EV_CREATED,
    EV_STAGE,    /* from, to */
    EV_TAG,      /* tag */
    EV_UNTAG,    /* tag */
    EV_ASSIGNED, /* owner */
    EV_FOLLOWUP, /* staff, note */
    EV_REPLY,    /* channel, text */
    EV_OPTOUT,   /* channel */
    EV_CUSTOM,   /* any other well-formed name: rules say `on event NAME` */
};

struct event {
    const char *id; /* the stream id, "1700000000000-0"; "" when made up */
    enum event_kind kind;
    const char *type;
    const char *student;
    size_t nfields; /* every field, type and student included */
    const char *names[EVENT_MAX_FIELDS];
    const char *values[EVENT_MAX_FIELDS];
};

/* How much of an event's student the rule engine needs: nothing, to
 * know that the student exists (the event alone says what to do: a
 * followup noted for the leads), its hash and then its tags only if a
 * rule's `when` may hold on the hash (consumer_hook.tags_wanted), the
 * student loaded but for its opt-outs (a lead closed by the student's
 * stage or tag), or the whole student (an opt-out to confirm). In that
 * order. */
enum student_need {
    NEED_NONE,
    NEED_EXISTS,
    NEED_HASH,
    NEED_LOADED,
    NEED_WHOLE
};

/* An accepted event of a known student, and the student as loaded for
 * it (NULL when NEED_EXISTS was asked), as the consumer hands a batch's
 * events to the rule engine; both borrowed. */
struct event_student {
    const struct event *ev;
    const struct student *st;
};

/* Why an event was rejected: code is a metrics label ("no_student"),
 * text a sentence for the log and the rejected-events stream. */
struct event_reject {
    const char *code;
    char text[160];
};

/* Decodes one stream entry ([id, [field, value, ...]]). Returns 0, or -1
 * with why in rej. */
int event_decode(const redisReply *entry, struct event *ev,
                 struct event_reject *rej);
/* Builds an event from "key=value" strings (type and student given
 * apart). Returns 0, or -1 with why in rej. The strings in kv are split
 * in place at the '='. */
int event_from_args(struct event *ev, const char *type, const char *student,
                    char **kv, int nkv, struct event_reject *rej);
/* The value of a field, or NULL. */
const char *event_get(const struct event *ev, const char *field);

/* When ev happened: the milliseconds of its stream id ("1700000000000-0"),
 * or now_ms for an event without one (made up, or a bad id). */
int64_t event_time_ms(const struct event *ev, int64_t now_ms);
/* The kind of a type name (EV_CUSTOM for any other name). */
enum event_kind event_kind_of(const char *type);
/* The name of a built-in kind ("stage"). */
const char *event_kind_name(enum event_kind kind);
/* Changes st as the student data the event goes with would (what a CRM
 * writes with it, and `nudgectl emit` does): stage and stage_at (now_ms)
 * for stage, the tag for tag/untag, owner for assigned, the opt-out, and
 * created's fields. For `nudgectl simulate --event`. Returns 0 or -1. */
int event_apply(const struct event *ev, struct student *st, int64_t now_ms);
/* The fields a built-in type needs, NULL-terminated. */
const char *const *event_required_fields(enum event_kind kind);

#endif
