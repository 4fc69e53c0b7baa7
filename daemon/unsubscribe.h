/*
 * unsubscribe.h - the work behind the one-click unsubscribe link of every
 * message (RFC 8058; the link and its token are templates/unsub.h's).
 *
 * A request names a student, a channel type and a token. When the token is
 * the one nudge signed for that student and channel, the opt-out is
 * recorded as an integrator would record it (core/event_write.h): SADD to
 * the student's optout set and an `optout` event with actor "student",
 * which the consumer writes to the timeline and the rules then see. A
 * repeated request (mail providers may POST twice) changes nothing.
 *
 * http.c calls it for POST /unsubscribe on the listener's one thread, so
 * one Redis connection serves it; it never waits for Redis to come back:
 * while Redis is down it answers 503 at once.
 */
#ifndef NUDGE_UNSUBSCRIBE_H
#define NUDGE_UNSUBSCRIBE_H

#include <stddef.h>

#include "core/config.h"

struct unsub;

/* The handler for cfg (borrowed; must outlive it), or NULL when cfg has
 * no unsubscribe_secret (the endpoint is then off) or out of memory.
 * Free with unsub_free(). */
struct unsub *unsub_new(const struct config *cfg);
void unsub_free(struct unsub *u);

/* Checks a link without recording anything (for GET, which only shows
 * the confirmation: link checkers and previews follow links). Returns
 * 200 with the question in msg, or 400/403 as unsub_handle(). */
int unsub_check(struct unsub *u, const char *student, const char *channel,
                const char *token, char *msg, size_t n);

/* Checks and records one request. Returns the HTTP status (200 done or
 * already done, 400 a missing or malformed value, 403 a token that does
 * not match, 404 no such student, 503 Redis unreachable); msg gets one
 * sentence for the person who clicked. Any argument may be NULL. */
int unsub_handle(struct unsub *u, const char *student, const char *channel,
                 const char *token, char *msg, size_t n);

#endif
