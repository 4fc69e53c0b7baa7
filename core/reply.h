/*
 * reply.h - hiredis reply objects kept for reuse.
 *
 * hiredis builds every reply element with calloc() and a malloc() for its
 * string, and its freeReplyObject() frees them one by one. A batch of
 * events reads thousands of elements and frees them together, more than
 * glibc's per-thread cache holds, so most went through its slow paths: a
 * quarter of nudged's instructions on the event path. Every connection of
 * core/redis.c builds its replies with the functions here instead, which
 * take the reply objects (a string's text in the same block) and element
 * arrays from blocks each thread keeps, which reply_free() gives back.
 *
 * A reply of any origin may be given to reply_free(); one of ours must
 * never go to freeReplyObject() (its strings are not blocks of their
 * own).
 */
#ifndef NUDGE_CORE_REPLY_H
#define NUDGE_CORE_REPLY_H

#include <hiredis/hiredis.h>

/* Makes c's reader build its replies with the pooled functions. */
void reply_pool_attach(redisContext *c);

/* Frees reply r and its elements (NULL is fine), keeping the pieces for
 * the calling thread's next replies. */
void reply_free(void *r);

#endif
