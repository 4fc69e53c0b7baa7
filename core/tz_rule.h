/*
 * tz_rule.h - the POSIX TZ string that ends a TZif file of version 2+
 * (RFC 8536 section 3.3, e.g. "EST5EDT,M3.2.0,M11.1.0" or "<+08>-8"):
 * the rule a zone follows after the last transition of its table. Debian
 * ships "slim" zone files whose tables stop early (New York's at 2007),
 * so every later offset comes from this rule. core/tz.c uses it.
 */
#ifndef NUDGE_CORE_TZ_RULE_H
#define NUDGE_CORE_TZ_RULE_H

#include <stdint.h>

/* One end of daylight saving time in a year: kind 'J' (Jn, 1..365, no
 * 29 February), 'D' (n, 0..365 counting it) or 'M' (Mm.w.d); secs is
 * the local time of day of the change (may be negative or past 24 h). */
struct tz_date {
    char kind;
    int n, m, w, d;
    long secs;
};

/* Offsets are seconds east of UTC (UTC+8 is 28800), unlike in the string. */
struct tz_rule {
    long std_off, dst_off;
    int has_dst;
    struct tz_date start, end;
};

/* Parses the TZ string s (NUL-terminated, without the newlines around it)
 * into r. Returns 0, or -1 when s is empty or not a rule this reads. */
int tz_rule_parse(const char *s, struct tz_rule *r);

/* The offset r gives at the UTC instant t (seconds). */
long tz_rule_offset(const struct tz_rule *r, int64_t t);

#endif
