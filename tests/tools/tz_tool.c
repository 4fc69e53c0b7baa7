/*
 * tz_tool.c - a test driver for core/tz.h, so that an integration test
 * (tests/integration/test_tz.py) can cross-check nudge's zone offsets
 * against Python's zoneinfo. Reads lines "ZONE SECONDS" from stdin and
 * prints "ZONE SECONDS OFFSET" for each (OFFSET: seconds east of UTC, or
 * "unknown" when ZONE is no zone).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/tz.h"

int main(void)
{
    char line[256], zone[TZ_NAME_MAX];
    long long t;
    long off;

    while (fgets(line, sizeof line, stdin)) {
        if (sscanf(line, "%63s %lld", zone, &t) != 2) {
            fprintf(stderr, "tz_tool: bad line: %s", line);
            return 2;
        }
        if (tz_lookup(zone, (int64_t)t * 1000, &off) < 0)
            printf("%s %lld unknown\n", zone, t);
        else
            printf("%s %lld %ld\n", zone, t, off);
    }
    return 0;
}
