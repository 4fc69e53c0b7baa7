/*
 * caps.h - the frequency caps of a message to a student: at most N
 * messages per local day or week (Monday to Sunday, in the student's
 * zone), of every class ([delivery] max_per_day, max_per_week), of its
 * class (max_per_day_marketing, ..._service) and on its channel
 * ([channel.NAME] max_per_day, max_per_week). Staff messages have none.
 *
 * Each cap is a counter in Redis, slm:student:{ID}:sent:SCOPE...:WINDOW,
 * shared by every daemon. One script takes them all or none: when any is
 * full nothing is counted, so two daemons sending at once never pass a
 * cap and never waste one. A send that then fails gives its counts back.
 * The send path takes them (rules/send.c, in the job's first read where
 * it can); `nudgectl simulate` only reads them.
 */
#ifndef NUDGE_RULES_CAPS_H
#define NUDGE_RULES_CAPS_H

#include <stddef.h>
#include <stdint.h>

#include "channels/channel.h"
#include "core/config.h"
#include "core/keys.h"
#include "core/msgclass.h"
#include "core/redis.h"

#define CAPS_MAX 6 /* every class, the class, the channel: day and week */

struct cap {
    char key[KEY_MAX];
    int limit;
    int week;       /* a week's cap, else a day's */
    int64_t ends;   /* UTC ms: when its day or week is over */
    char scope[80]; /* "", "marketing ", "sms channel ": for the reason */
};

struct cap_set {
    size_t n;
    struct cap v[CAPS_MAX];
};

/* The caps of a message of class cls on channel ch (NULL: none of its
 * own) to student at now_ms in zone (the student's, delivery_zone()).
 * Staff messages have none (set->n = 0). */
void caps_for(struct cap_set *set, const struct config *cfg,
              const char *student, const char *zone, enum msg_class cls,
              const struct channel *ch, int64_t now_ms);
/* 1 when a and b count the same counters with the same limits. */
int caps_same(const struct cap_set *a, const struct cap_set *b);

/* Takes one of every cap of set, or none: 0 taken, k > 0 cap k - 1 is
 * full (nothing taken), -1 Redis failed. An empty set takes nothing. */
int caps_take(struct rconn *rc, const struct cap_set *set, int64_t now_ms);
/* caps_take() in halves, for a caller that pipelines it with other
 * commands: queue it (nothing when set is empty), then read its reply:
 * as caps_take()'s, or -2 when Redis did not know the script (it
 * restarted): nothing was taken; take them with caps_take(). */
int caps_take_cmd(struct rconn *rc, const struct cap_set *set,
                  int64_t now_ms);
int caps_take_reply(struct rconn *rc);
/* Gives back what caps_take() took (the message did not go). 0 or -1. */
int caps_give_back(struct rconn *rc, const struct cap_set *set);
/* Reads set's counters without taking: like caps_take(), for a preview. */
int caps_peek(struct rconn *rc, const struct cap_set *set);

/* "weekly cap of 5 marketing messages reached" for c. */
void caps_reason(const struct cap *c, char *buf, size_t n);

#endif
