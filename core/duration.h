/*
 * duration.h - "30s", "15m", "2h", "3d", "1w", "250ms": the durations of the
 * rule language and of the config, parsed in one place.
 */
#ifndef NUDGE_DURATION_H
#define NUDGE_DURATION_H

#include <stdint.h>

/* Parses a whole string as a positive duration (a number and one unit of
 * ms, s, m, h, d, w). Returns 0 and sets *ms, or -1 if it is not one. */
int duration_parse(const char *s, int64_t *ms);
/* Formats ms as the shortest exact unit ("90s", "2h"). Returns out. */
char *duration_format(int64_t ms, char *out, int n);

#endif
