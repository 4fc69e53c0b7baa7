/*
 * worktime.h - the school's working calendar: which days are working days
 * (the week's days, less the holidays of calendar files, plus their
 * make-up working days, China's 调休), the working hours of a day less an
 * optional lunch break, all in one time zone. `wait 24h working` in a rule
 * asks worktime_add() when 24 hours of that working time have passed.
 *
 *   days = mon-fri        hours = 09:00-18:00      lunch = 12:00-13:30
 *   calendar files:       covers 2026-01-01 2026-12-31
 *                         2026-10-01..2026-10-07 holiday 国庆节
 *                         2026-10-10 workday 国庆节调休
 *
 * Pure functions of their arguments (no clock, no Redis), so tests give
 * any instant. The config (core/config.h) builds one struct worktime at
 * load; it is read-only after, so any thread may use it.
 *
 * Ownership: a struct worktime owns its calendar; worktime_free() frees it.
 */
#ifndef NUDGE_CORE_WORKTIME_H
#define NUDGE_CORE_WORKTIME_H

#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"

#define WT_DAY_MS 86400000LL

/* One date a calendar file names. */
struct wt_date {
    int32_t day; /* days since 1970-01-01 */
    int8_t work; /* 1: a working day (调休), 0: a holiday */
    char *name;  /* "国庆节", or NULL */
};

/* The dates one calendar file covers. */
struct wt_cover {
    int32_t first, last; /* days since 1970-01-01, inclusive */
    char *file;
};

struct worktime {
    unsigned days; /* bit d: weekday d (0 sunday .. 6 saturday) works */
    int from, to;  /* working hours, minutes of the day, from < to */
    int lunch_from, lunch_to; /* equal: no lunch break */
    char zone[64];
    struct wt_date *dates; /* sorted by day, one entry a day */
    size_t ndates, cap;
    struct wt_cover *covers;
    size_t ncovers;
};

/* --- setting up --------------------------------------------------------- */

/* A worktime of mon-fri, 09:00-18:00, no lunch, no calendar, in zone
 * (NULL: UTC). */
void worktime_init(struct worktime *w, const char *zone);
void worktime_free(struct worktime *w);

/* "mon-fri", "mon-sat", "mon,tue,thu", "sun-sat" (ranges may wrap:
 * "sat-tue") into a bitmask of weekdays. 0, or -1 with why in err. */
int worktime_parse_days(const char *s, unsigned *days, char *err, size_t n);
/* "09:00-18:00" into minutes of the day, from before to. 0 or -1. */
int worktime_parse_span(const char *s, int *from, int *to, char *err, size_t n);
/* Sets the lunch break; it must lie inside the working hours. 0 or -1. */
int worktime_set_lunch(struct worktime *w, int from, int to, char *err,
                       size_t n);

/* Reads a calendar file into w (format: docs/leads.md). Every problem is
 * added to d as "file:line:col: message"; returns the number of errors
 * (0: loaded), or -1 with errno when the file cannot be read (nothing
 * added to d: the caller names the setting that named the file). */
int worktime_load_calendar(struct worktime *w, const char *path,
                           struct diag *d);

/* Dates "YYYY-MM-DD" or ranges "YYYY-MM-DD..YYYY-MM-DD", separated by
 * commas or spaces (a config's list: [delivery] blackout). Calls fn for
 * each (first, last: days since 1970-01-01, first <= last) until it
 * returns non-zero. 0, or -1 with why in err (the bad item named). */
int worktime_parse_ranges(const char *s,
                          int (*fn)(int64_t first, int64_t last, void *arg),
                          void *arg, char *err, size_t n);

/* --- questions ----------------------------------------------------------- */

/* 1 when local day (days since 1970-01-01) is a working day. */
int worktime_is_workday(const struct worktime *w, int64_t day);
/* The working time of one working day, ms (hours less lunch). */
int64_t worktime_day_ms(const struct worktime *w);
/* The instant (UTC ms) when dur_ms of working time has passed after
 * start_ms; a start outside working time counts from the next working
 * moment, and a deadline that falls at the end of a working stretch is
 * that end (18:00, not 09:00 the next day). -1 when ten years pass
 * without a working day (no working days at all). */
int64_t worktime_add(const struct worktime *w, int64_t start_ms,
                     int64_t dur_ms);
/* start_ms when it falls in working time (a working day's hours, less
 * the lunch break), else the next instant working time starts (09:00 the
 * next working day, 13:30 after lunch): when staff may be messaged
 * ([delivery] quiet_hours_staff = working). -1 as above. */
int64_t worktime_next_open(const struct worktime *w, int64_t start_ms);
/* The end of a `wait` of ms plus days working days from start_ms (a
 * working day is worktime_day_ms() of working time). -1 as above. */
int64_t worktime_wait_until(const struct worktime *w, int64_t start_ms,
                            int64_t ms, long days);
/* The last day (days since 1970-01-01) the calendar files cover, or -1
 * with no file: after it only the weekdays count. */
int64_t worktime_covered_until(const struct worktime *w);

/* Formats a local day as "YYYY-MM-DD". Returns buf. */
char *worktime_format_day(int64_t day, char *buf, size_t n);
/* Formats the instant ms in w's zone as "YYYY-MM-DD HH:MM". Returns buf. */
char *worktime_format(const struct worktime *w, int64_t ms, char *buf,
                      size_t n);

#endif
