/*
 * recipient.h - whom a message step reaches: `send` the student (the
 * templates pick the student's contact), `notify owner` the student's
 * owner, `escalate level N` the owner's supervisor's ... supervisor, N
 * levels up (slm:staff:{ID} supervisor). The owner (and the supervisor)
 * are loaded for the templates' owner.X and supervisor.X too.
 *
 * Ownership: a struct recipient owns the staff it loaded;
 * recipient_clear() frees them.
 */
#ifndef NUDGE_RULES_RECIPIENT_H
#define NUDGE_RULES_RECIPIENT_H

#include <stddef.h>

#include "core/redis.h"
#include "core/student.h"
#include "rules/ast.h"

struct recipient {
    struct staff *owner;      /* the student's owner, or NULL */
    struct staff *supervisor; /* the owner's supervisor, or NULL */
    struct staff *target;     /* notify, escalate: whom it reaches */
    const char *to;           /* target's contact; NULL for the student */
};

/* Resolves step s (send, notify, escalate) for student st on a channel
 * rendering type ("sms", "email", "wecom"). Returns 1 with r filled, 0
 * when there is nobody to reach (why says who is missing, e.g. "no
 * owner", "staff s1 has no supervisor"), -1 on a Redis error (why). */
int recipient_resolve(struct rconn *rc, const char *prefix,
                      const struct step *s, const struct student *st,
                      const char *type, struct recipient *r, char *why,
                      size_t n);
void recipient_clear(struct recipient *r);

/* The staff member's contact for a message type: phone, email or
 * wecom_userid; NULL when missing. */
const char *staff_contact(const struct staff *s, const char *type);

#endif
