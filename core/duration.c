/*
 * duration.c - parsing and printing durations (see duration.h).
 */
#include "core/duration.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *unit;
    int64_t ms;
} units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
    {"d", 86400000}, {"w", 604800000},
};

int duration_parse(const char *s, int64_t *ms)
{
    int64_t n = 0;
    const char *p = s;

    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        if (n > INT64_MAX / 10 / 604800000)
            return -1;
        n = n * 10 + (*p - '0');
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(p, units[i].unit) == 0) {
            *ms = n * units[i].ms;
            return 0;
        }
    }
    return -1;
}

char *duration_format(int64_t ms, char *out, int n)
{
    int i = (int)(sizeof units / sizeof units[0]) - 1;

    while (i > 0 && (ms % units[i].ms != 0 || ms == 0))
        i--;
    snprintf(out, (size_t)n, "%lld%s", (long long)(ms / units[i].ms),
             units[i].unit);
    return out;
}
