/*
 * recipient.c - the owner and supervisor chain of a student (see
 * recipient.h).
 */
#include "rules/recipient.h"

#include <stdio.h>
#include <string.h>

#include "core/student_store.h"

const char *staff_contact(const struct staff *s, const char *type)
{
    const char *field = strcmp(type, "sms") == 0     ? "phone"
                        : strcmp(type, "email") == 0 ? "email"
                        : strcmp(type, "wecom") == 0 ? "wecom_userid"
                                                     : NULL;
    const char *v = field ? staff_get(s, field) : NULL;
    return v && v[0] ? v : NULL;
}

/* Loads staff id into *out: 1, 0 (why) or -1 (why). */
static int load_staff(struct rconn *rc, const char *prefix, const char *id,
                      const char *role, struct staff **out, char *why, size_t n)
{
    int rc_ = staff_load(rc, prefix, id, out);

    if (rc_ < 0)
        snprintf(why, n, "loading staff %s: %s", id, rc->errstr);
    else if (rc_ == 0)
        snprintf(why, n, "%s %s is not in Redis", role, id);
    return rc_;
}

static const char *nonempty(const char *s)
{
    return s && s[0] ? s : NULL;
}

/* Walks up from the owner to the supervisor at level. */
static int find_level(struct rconn *rc, const char *prefix, struct recipient *r,
                      long level, char *why, size_t n)
{
    struct staff *cur = r->supervisor;
    const char *id;
    int got;

    if (!cur) {
        snprintf(why, n, "owner %s has no supervisor", r->owner->id);
        return 0;
    }
    for (long l = 1; l < level; l++) {
        struct staff *up = NULL;
        if (!(id = nonempty(staff_get(cur, "supervisor")))) {
            snprintf(why, n, "staff %s (level %ld) has no supervisor", cur->id,
                     l);
            if (cur != r->supervisor)
                staff_free(cur);
            return 0;
        }
        got = load_staff(rc, prefix, id, "supervisor", &up, why, n);
        if (cur != r->supervisor)
            staff_free(cur);
        if (got <= 0)
            return got;
        cur = up;
    }
    r->target = cur;
    return 1;
}

int recipient_resolve(struct rconn *rc, const char *prefix,
                      const struct step *s, const struct student *st,
                      const char *type, struct recipient *r, char *why,
                      size_t n)
{
    const char *owner = nonempty(student_get(st, "owner")), *sup;
    int got;

    memset(r, 0, sizeof *r);
    why[0] = 0;
    if (owner &&
        (got = load_staff(rc, prefix, owner, "owner", &r->owner, why, n)) < 0)
        return -1;
    if (r->owner && (sup = nonempty(staff_get(r->owner, "supervisor"))) &&
        load_staff(rc, prefix, sup, "supervisor", &r->supervisor, why, n) < 0)
        return -1;
    why[0] = 0;
    if (s->kind == STEP_SEND)
        return 1;
    if (!r->owner) {
        snprintf(why, n, owner ? "owner %s is not in Redis" : "no owner",
                 owner);
        return 0;
    }
    if (s->kind == STEP_NOTIFY)
        r->target = r->owner;
    else if ((got = find_level(rc, prefix, r, s->level, why, n)) <= 0)
        return got;
    if (!(r->to = staff_contact(r->target, type))) {
        snprintf(why, n, "staff %s has no %s contact", r->target->id, type);
        return 0;
    }
    return 1;
}

void recipient_clear(struct recipient *r)
{
    if (r->target && r->target != r->owner && r->target != r->supervisor)
        staff_free(r->target);
    staff_free(r->owner);
    staff_free(r->supervisor);
    memset(r, 0, sizeof *r);
}
