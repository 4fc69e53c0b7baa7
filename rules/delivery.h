/*
 * delivery.h - when a message to a student may go: the quiet hours and the
 * daily cap of [delivery], in the student's time zone (its `tz`
 * attribute, else [delivery] timezone). A `send` that falls in the quiet
 * hours waits, as a queued job, until they end; one over the day's cap is
 * skipped with the reason on the timeline.
 *
 * Zone offsets come from core/tz.h (the system's TZif files, cached).
 */
#ifndef NUDGE_RULES_DELIVERY_H
#define NUDGE_RULES_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/redis.h"
#include "core/student.h"
#include "core/tz.h"


/* The zone of a student: its `tz` when that names a zone, else cfg's
 * [delivery] timezone (delivery_default_zone()). An unknown `tz` is never
 * read as UTC: it is replaced by the default, and the first time a name
 * is seen it is logged with the student's id and counted in
 * nudge_unknown_timezones_total (`nudgectl doctor` lists them all).
 * Thread-safe; the string returned lives as long as st or cfg. */
const char *delivery_zone(const struct config *cfg, const struct student *st);
/* [delivery] timezone, or "UTC" when it is empty. */
const char *delivery_default_zone(const struct config *cfg);

/* Quiet hours "HH:MM-HH:MM" as minutes after midnight; a window that
 * crosses midnight has from > to. -1 when "", NULL, malformed or empty. */
int quiet_hours_parse(const char *hours, int *from, int *to);
/* When quiet hours ("21:00-08:00") hold at now_ms in zone: the instant
 * they end, at their end's local time with that time's own offset (a
 * daylight-saving change during the night does not shift it); otherwise
 * 0. "" or NULL: never quiet. Pure (but for the zone cache). */
int64_t quiet_until(const char *hours, const char *zone, int64_t now_ms);

/* Counts one message to student st for its local day; returns 1 when it
 * is within cfg's max_per_day (0: no cap), 0 when over it (the count is
 * taken back), -1 on a Redis error. */
int daily_cap_take(struct rconn *rc, const struct config *cfg,
                   const struct student *st, int64_t now_ms);
/* The cap's counter of student for its local day at now_ms in zone
 * (NULL: cfg's default zone). */
void daily_cap_key(char *key, size_t n, const struct config *cfg,
                   const char *student, const char *zone, int64_t now_ms);
/* daily_cap_take() in halves, for a caller that sends the count with
 * other commands: queue the INCR (and its EXPIRE), then read the count
 * (-1: Redis error). daily_cap_give_back_key() undoes one. */
int daily_cap_take_cmd(struct rconn *rc, const char *key);
long long daily_cap_take_reply(struct rconn *rc);
int daily_cap_give_back_key(struct rconn *rc, const char *key);
/* Gives back a count taken by daily_cap_take() (the send failed). */
void daily_cap_give_back(struct rconn *rc, const struct config *cfg,
                         const struct student *st, int64_t now_ms);

#endif
