/*
 * schedule.c - the firing times of `every` and `at` (see schedule.h),
 * computed with the C library's local time, so daylight saving and the
 * zone come from TZ.
 */
#include "rules/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t local_ms(int year, int mon, int mday, int hour, int min)
{
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = mon - 1,
                    .tm_mday = mday,
                    .tm_hour = hour,
                    .tm_min = min,
                    .tm_isdst = -1};
    time_t t = mktime(&tm);
    return t == (time_t)-1 ? -1 : (int64_t)t * 1000;
}

/* The firing time of an `every` on the day of day_ms (local), or -1 when
 * it does not fire that day. */
static int64_t every_on_day(const struct trigger *t, time_t day)
{
    struct tm tm;

    localtime_r(&day, &tm);
    if (t->wday >= 0 && tm.tm_wday != t->wday)
        return -1;
    return local_ms(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, t->hour,
                    t->minute);
}

int64_t schedule_next(const struct trigger *t, int64_t after_ms)
{
    if (t->kind == TRIG_AT) {
        int64_t at = local_ms(t->year, t->mon, t->mday, t->hour, t->minute);
        return at > after_ms ? at : -1;
    }
    if (t->kind != TRIG_EVERY)
        return -1;
    for (int d = 0; d <= 8; d++) {
        time_t day = (time_t)(after_ms / 1000) + (time_t)d * 86400;
        int64_t at = every_on_day(t, day);
        if (at > after_ms)
            return at;
    }
    return -1;
}

int64_t schedule_prev(const struct trigger *t, int64_t now_ms)
{
    if (t->kind == TRIG_AT) {
        int64_t at = local_ms(t->year, t->mon, t->mday, t->hour, t->minute);
        return at >= 0 && at <= now_ms ? at : -1;
    }
    if (t->kind != TRIG_EVERY)
        return -1;
    for (int d = 0; d <= 8; d++) {
        time_t day = (time_t)(now_ms / 1000) - (time_t)d * 86400;
        int64_t at = every_on_day(t, day);
        if (at >= 0 && at <= now_ms)
            return at;
    }
    return -1;
}

char *schedule_format(int64_t ms, char *buf, int n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(buf, (size_t)n, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

int schedule_parse_time(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, used = 0;
    char *end;
    long long secs;

    if ((sscanf(s, "%d-%d-%d %d:%d%n", &y, &mo, &d, &h, &mi, &used) == 5 ||
         sscanf(s, "%d-%d-%dT%d:%d%n", &y, &mo, &d, &h, &mi, &used) == 5) &&
        s[used] == 0) {
        *ms = local_ms(y, mo, d, h, mi);
        return *ms < 0 ? -1 : 0;
    }
    secs = strtoll(s, &end, 10);
    if (end == s || *end || secs <= 0)
        return -1;
    *ms = secs * 1000;
    return 0;
}
