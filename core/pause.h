/*
 * pause.h - paused sends (`nudgectl pause`, `resume`): which channels and
 * rules may not send now, shared by every daemon through one Redis hash,
 * prefix + "pause" (docs/redis.md):
 *
 *   field                 paused
 *   all                   every send, notice and alert
 *   channel:C             everything on channel C
 *   rule:R                every message step of rule R
 *   rule:R/channel:C      rule R's message steps on channel C
 *   value "SINCE_MS ACTOR": when and by whom
 *
 * A daemon reads the hash at most every PAUSE_CACHE_MS per process (one
 * HGETALL shared by its threads), so a pause or resume takes effect
 * within that; a paused job waits in the queue (rules/send.c,
 * rules/alert_job.c) and goes out once after resume.
 *
 * Threads: pause_blocked() may be called from any thread, with that
 * thread's connection; the others are the CLI's.
 */
#ifndef NUDGE_CORE_PAUSE_H
#define NUDGE_CORE_PAUSE_H

#include <stddef.h>
#include <stdint.h>

#include "core/redis.h"

#define PAUSE_CACHE_MS 500

/* The field for channel and rule (either may be NULL; both NULL: "all").
 * -1 when it does not fit. */
int pause_field(char *buf, size_t n, const char *channel, const char *rule);
/* Pauses (HSET) what field names. 0 or -1. */
int pause_set(struct rconn *rc, const char *prefix, const char *field,
              const char *actor, int64_t now_ms);
/* Resumes field, or every pause when field is NULL. Returns how many
 * pauses were lifted, or -1. */
long long pause_clear(struct rconn *rc, const char *prefix, const char *field);
/* Whether a message of rule (NULL: not a rule's, an alert say) on channel
 * may go: 1 paused (why says by what: "channel sms paused"), 0 it may,
 * -1 Redis failed. Cached for PAUSE_CACHE_MS. */
int pause_blocked(struct rconn *rc, const char *prefix, const char *channel,
                  const char *rule, char *why, size_t n);
/* One pause as read back: what (its field), since when, by whom. */
struct pause_entry {
    char field[200];
    int64_t since_ms;
    char actor[128];
};
/* Every pause now (one HGETALL, no cache): *out is an array of *n (the
 * caller frees it; NULL when none). 0, or -1 on a Redis error or no
 * memory. For `nudgectl queue stats` and the supervisors' page. */
int pause_list(struct rconn *rc, const char *prefix, struct pause_entry **out,
               size_t *n);

/* Forgets the cache (tests). */
void pause_cache_reset(void);

#endif
