/*
 * tz.h - time zones without TZ: offsets of IANA zones read from the
 * system's zoneinfo files (TZif, with the footer's rule for instants past
 * a file's table), so no thread changes TZ. Quiet hours and daily caps
 * (rules/delivery.h), digests and working time (core/worktime.h) use it.
 *
 * "Local ms" below is a zone's wall-clock time written as milliseconds
 * since 1970-01-01 00:00 of that wall clock (so local_ms / 86400000 is
 * the local day and the remainder the time of day).
 *
 * Zones read are cached: at most TZ_CACHE of them, the least recently
 * used evicted first. A name that is no zone is never cached (it is
 * looked up again each time, so garbage cannot fill the cache). Callers
 * with a name from data (a student's `tz`) check it with tz_known() and
 * use a configured zone instead (rules/delivery.h delivery_zone()).
 *
 * Thread-safe: the cache is behind a mutex.
 */
#ifndef NUDGE_CORE_TZ_H
#define NUDGE_CORE_TZ_H

#include <stddef.h>
#include <stdint.h>

#define TZ_CACHE 128   /* zones kept */
#define TZ_NAME_MAX 64 /* longest zone name + 1 */

/* 0 and *off = the offset from UTC, in seconds east, of zone at t_ms;
 * -1 when zone names no zoneinfo file this machine has. */
int tz_lookup(const char *zone, int64_t t_ms, long *off);
/* The offset of zone at t_ms; 0 (UTC) when the zone is unknown. */
long tz_offset(const char *zone, int64_t t_ms);

/* 1 when zone names a zone (a TZif file) this machine has, else 0. */
int tz_known(const char *zone);

/* The local ms of the UTC instant t_ms in zone. */
int64_t tz_to_local(const char *zone, int64_t t_ms);
/* The UTC instant of local ms in zone, across its offset changes: a local
 * time that happens twice (an overlap) maps to the first; one skipped by
 * a change (a gap) is read with the offset before it, so 02:30 in New
 * York's spring gap becomes 03:30 daylight time. */
int64_t tz_from_local(const char *zone, int64_t local_ms);

/* The first instant at or after t_ms at which zone's clock reads minute
 * (minutes after midnight, 0..1439), with the offset of that local time,
 * not t_ms's: 08:00 after a night with a daylight-saving change is 08:00. */
int64_t tz_next_local(const char *zone, int64_t t_ms, int minute);

/* A zone name from data (a student's `tz`), for a log line or a report:
 * at most 40 bytes, control bytes, quotes and backslashes as '?'. */
void tz_printable(char *out, size_t n, const char *name);

#endif
