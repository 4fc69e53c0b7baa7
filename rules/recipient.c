/*
 * recipient.c - the owner and supervisor chain of a student (see
 * recipient.h).
 */
#include "rules/recipient.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
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

/* How far up a chain is followed: deeper is taken as broken data. */
#define CHAIN_MAX 32

/* The ids met on the way up, for loops and for the reason's text. */
struct chain {
    const char *ids[CHAIN_MAX + 1];
    size_t n;
};

static int chain_has(const struct chain *c, const char *id)
{
    for (size_t k = 0; k < c->n; k++)
        if (strcmp(c->ids[k], id) == 0)
            return 1;
    return 0;
}

/* "A -> B -> A" */
static void chain_format(const struct chain *c, const char *last, char *buf,
                         size_t n)
{
    size_t len = 0;

    buf[0] = 0;
    for (size_t k = 0; k < c->n && len < n; k++)
        len += (size_t)snprintf(buf + len, n - len, "%s -> ", c->ids[k]);
    if (len < n)
        snprintf(buf + len, n - len, "%s", last);
}

/* Staff cur's supervisor, as level l of the chain: 1 (*up loaded), 0 the
 * chain is broken there (why), -1 error. The owner's own supervisor,
 * already loaded, is reused. */
static int climb(struct rconn *rc, const char *prefix, struct recipient *r,
                 const struct staff *cur, long l, struct chain *c,
                 struct staff **up, char *why, size_t n)
{
    const char *id = nonempty(staff_get(cur, "supervisor"));
    char text[400];
    int got;

    if (!id) {
        snprintf(why, n, "no level %ld: %s %s has no supervisor", l,
                 l == 1 ? "owner" : "staff", cur->id);
        return 0;
    }
    if (chain_has(c, id)) {
        chain_format(c, id, text, sizeof text);
        snprintf(why, n, "no level %ld: the supervisor chain loops (%s)", l,
                 text);
        return 0;
    }
    if (l == 1 && r->supervisor) {
        *up = r->supervisor;
        return 1;
    }
    got = staff_load(rc, prefix, id, up);
    if (got < 0)
        snprintf(why, n, "loading staff %s: %s", id, rc->errstr);
    else if (got == 0)
        snprintf(why, n, "no level %ld: supervisor %s of %s is not in Redis",
                 l, id, cur->id);
    return got;
}

/* Walks up from the owner to the supervisor at level: 1 (r->target), 0
 * the chain is broken (why), -1 error. */
static int find_level(struct rconn *rc, const char *prefix, struct recipient *r,
                      long level, char *why, size_t n)
{
    struct staff *cur = r->owner, *up = NULL;
    struct chain c = {.n = 0};
    int got = 1;

    if (level > CHAIN_MAX) {
        snprintf(why, n, "level %ld is deeper than %d levels", level,
                 CHAIN_MAX);
        return 0;
    }
    c.ids[c.n++] = r->owner->id;
    for (long l = 1; l <= level && got == 1; l++) {
        up = NULL;
        got = climb(rc, prefix, r, cur, l, &c, &up, why, n);
        if (cur != r->owner && cur != r->supervisor)
            staff_free(cur);
        cur = got == 1 ? up : NULL;
        if (cur)
            c.ids[c.n++] = cur->id;
    }
    if (got == 1)
        r->target = cur;
    return got;
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
    /* For the templates' supervisor.X; a missing one is the chain's
     * business below (and no business of a send to the student). */
    if (r->owner && (sup = nonempty(staff_get(r->owner, "supervisor"))) &&
        strcmp(sup, r->owner->id) != 0 &&
        load_staff(rc, prefix, sup, "supervisor", &r->supervisor, why, n) < 0)
        return -1;
    why[0] = 0;
    if (s->kind == STEP_SEND)
        return 1;
    if (!r->owner)
        snprintf(why, n, owner ? "owner %s is not in Redis" : "no owner",
                 owner);
    else if (s->kind == STEP_NOTIFY)
        r->target = r->owner;
    else if ((got = find_level(rc, prefix, r, s->level, why, n)) < 0)
        return -1;
    if (r->target && !(r->to = staff_contact(r->target, type)))
        snprintf(why, n, "staff %s has no %s contact", r->target->id, type);
    if (r->to)
        return 1;
    if (s->kind == STEP_NOTIFY)
        log_warnx("student %s: notify owner not sent: %s", st->id, why);
    else
        log_warnx("student %s: escalate level %ld not sent: %s", st->id,
                  s->level, why);
    return 0;
}

void recipient_clear(struct recipient *r)
{
    if (r->target && r->target != r->owner && r->target != r->supervisor)
        staff_free(r->target);
    staff_free(r->owner);
    staff_free(r->supervisor);
    memset(r, 0, sizeof *r);
}
