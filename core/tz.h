/*
 * tz.h - time zones without TZ: offsets of IANA zones read from the
 * system's zoneinfo files (TZif) and cached, so no thread changes TZ.
 * Quiet hours and daily caps (rules/delivery.h) and working time
 * (core/worktime.h) use it.
 *
 * "Local ms" below is a zone's wall-clock time written as milliseconds
 * since 1970-01-01 00:00 of that wall clock (so local_ms / 86400000 is
 * the local day and the remainder the time of day).
 *
 * Thread-safe: the cache is behind a mutex.
 */
#ifndef NUDGE_CORE_TZ_H
#define NUDGE_CORE_TZ_H

#include <stdint.h>

/* The offset from UTC, in seconds, of zone at t_ms; 0 (UTC) with a
 * warning logged once when the zone is unknown. */
long tz_offset(const char *zone, int64_t t_ms);

/* 1 when zone names a zoneinfo file this machine has, else 0. */
int tz_known(const char *zone);

/* The local ms of the UTC instant t_ms in zone. */
int64_t tz_to_local(const char *zone, int64_t t_ms);
/* The UTC instant of local ms in zone, across its offset changes: a local
 * time skipped by a change (a gap) maps to the instant after the gap, one
 * that happens twice (an overlap) to the first. */
int64_t tz_from_local(const char *zone, int64_t local_ms);

#endif
