/*
 * join.h - strings joined into a caller's buffer without printf: Redis
 * key names, timeline details and numbers are built for every event the
 * consumer handles, and snprintf() cost more than the rest of building
 * them.
 */
#ifndef NUDGE_CORE_JOIN_H
#define NUDGE_CORE_JOIN_H

#include <stddef.h>

/* Joins the strings given, up to a NULL, into buf (n bytes, NUL
 * included). Returns the length, or -1 when they do not fit: buf then
 * holds as much as fits. */
int join(char *buf, size_t n, ...);

/* Writes v in decimal and a NUL into out; returns its length. */
size_t join_long(char out[24], long long v);

#endif
