/*
 * msgclass.h - the class of a message: marketing, service or staff. A
 * template part declares it (`Kind:` header, templates/part.c); the
 * sending policy keys quiet hours, caps and blackout dates on it, and SMS
 * marketing gets the opt-out text. docs/policy.md "Message classes".
 */
#ifndef NUDGE_MSGCLASS_H
#define NUDGE_MSGCLASS_H

#include <stddef.h>

enum msg_class {
    MSG_MARKETING, /* the default of a student template: the safe side */
    MSG_SERVICE,   /* admission results, payment deadlines ("notice") */
    MSG_STAFF,     /* to staff: notify, escalate, alerts, the digest */
    MSG_NCLASSES
};

/* "marketing", "service", "staff". */
const char *msg_class_name(enum msg_class c);
/* The class the n bytes at s name, "notice" being a synonym of service;
 * -1 for anything else. */
int msg_class_parse(const char *s, size_t n);

#endif
