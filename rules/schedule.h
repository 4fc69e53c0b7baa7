/*
 * schedule.h - when the scheduled rules fire: `every monday 09:00`,
 * `every day 09:00` (in the daemon's local time zone, which the
 * [delivery] timezone of the config sets for nudged) and
 * `at 2026-09-01 09:00` (once). The engine's schedule tick asks which
 * rules are due; simulate shows the next time.
 */
#ifndef NUDGE_RULES_SCHEDULE_H
#define NUDGE_RULES_SCHEDULE_H

#include <stdint.h>

#include "rules/ast.h"

/* The first time the trigger fires strictly after after_ms (ms since the
 * epoch), or -1 when it never will again (an `at` in the past, or not a
 * schedule). */
int64_t schedule_next(const struct trigger *t, int64_t after_ms);

/* The latest time the trigger fired at or before now_ms, or -1 if none. */
int64_t schedule_prev(const struct trigger *t, int64_t now_ms);

/* Formats ms as local "YYYY-MM-DD HH:MM". Returns buf. */
char *schedule_format(int64_t ms, char *buf, int n);
/* Parses local "YYYY-MM-DD HH:MM", "YYYY-MM-DDTHH:MM" or unix seconds.
 * Returns 0 and sets *ms, or -1. */
int schedule_parse_time(const char *s, int64_t *ms);

#endif
