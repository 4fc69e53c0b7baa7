/*
 * dedup.h - [delivery] dedup_window: the same template goes to the same
 * student at most once within the window, whichever rule or daemon sends
 * it. Only `send` steps (messages to students) take part; notify and
 * escalate reach staff and are never deduplicated.
 *
 * The claim is one Redis key per student and template part,
 * slm:student:{ID}:dedup:TEMPLATE.AS (AS the message type, sms, email...:
 * the file name of the part), taken with SET NX PX=window GET: its
 * value "RUN:STEP@MS" names the send that holds it (the step counted from
 * 1, as the provider's idempotency key) and when it was taken. A second
 * attempt of the same step (a retry, the fallback channel) finds its own
 * claim and goes on; any other send finds it and is skipped. A send that
 * does not go out after all gives the claim back, but only while it still
 * holds it (compare and delete, one script).
 *
 * The step's claim is normally queued with the job's first read
 * (rules/send.c run_pre_cmd()): dedup_take_cmd() and dedup_take_reply()
 * are the two halves; dedup_take() does both for a step the read did not
 * cover.
 */
#ifndef NUDGE_RULES_DEDUP_H
#define NUDGE_RULES_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/redis.h"

#define DEDUP_HOLDER_MAX 128 /* "RUN:STEP@MS" and its NUL */

/* The claim's key of student and template tmpl's part as (sms, email...):
 * an SMS and an email of one template are two messages. */
void dedup_key(char *key, size_t n, const char *prefix, const char *student,
               const char *tmpl, const char *as);
/* Who holds a claim: run's step i (counted from 0; written from 1). */
void dedup_holder(char *buf, size_t n, const char *run, size_t i);

/* Queues the claim of key for holder at now_ms, for cfg's window (the
 * caller checks the window is not 0). 0 or -1. */
int dedup_take_cmd(struct rconn *rc, const struct config *cfg,
                   const char *key, const char *holder, int64_t now_ms);
/* Reads its reply: 1 taken now, 0 someone held it (prev gets the value,
 * which may be holder's own: dedup_is_own()), -1 Redis error. */
int dedup_take_reply(struct rconn *rc, char *prev, size_t n);
/* Both halves in one round trip. */
int dedup_take(struct rconn *rc, const struct config *cfg, const char *key,
               const char *holder, int64_t now_ms, char *prev, size_t n);
/* Reads the claim without taking it (nudgectl simulate): 1 held (prev
 * filled), 0 free, -1 Redis error. */
int dedup_peek(struct rconn *rc, const char *key, char *prev, size_t n);
/* Gives the claim at key back when holder still holds it. 0 or -1. */
int dedup_give_back(struct rconn *rc, const char *key, const char *holder);

/* Pure. Whether the claim's value prev is holder's own. */
int dedup_is_own(const char *prev, const char *holder);
/* Pure. When the claim prev was taken (ms since 1970), 0 when unreadable. */
int64_t dedup_taken_at(const char *prev);
/* Pure (but for the zone cache). Why a send of tmpl is skipped, given the
 * claim prev, its time of day in zone: "template X was sent to this
 * student at HH:MM, within dedup_window". */
void dedup_reason(char *buf, size_t n, const char *tmpl, const char *prev,
                  const char *zone);

#endif
