/*
 * delivery.h - the student's time zone (its `tz` attribute, else
 * [delivery] timezone) and the quiet hours of [delivery] in it. A `send`
 * that falls in the quiet hours waits, as a queued job, until they end
 * (rules/policy.h decides; the frequency caps are rules/caps.h).
 *
 * Zone offsets come from core/tz.h (the system's TZif files, cached).
 */
#ifndef NUDGE_RULES_DELIVERY_H
#define NUDGE_RULES_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
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

#endif
