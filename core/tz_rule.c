/*
 * tz_rule.c - the POSIX TZ string of a TZif footer (see tz_rule.h): a
 * parser, and the offset at an instant from the year's two changes.
 */
#include "core/tz_rule.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* --- parsing --------------------------------------------------------------- */

/* A zone abbreviation: three or more letters, or <...> (e.g. <+08>). */
static const char *parse_name(const char *s)
{
    const char *p = s;

    if (*p == '<') {
        while (*++p && *p != '>')
            if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-')
                return NULL;
        return *p == '>' && p - s >= 4 ? p + 1 : NULL;
    }
    while (isalpha((unsigned char)*p))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] with hh up to 167 (RFC 8536 allows it in rule times);
 * *secs gets the value as written (west of UTC positive for offsets). */
static const char *parse_hms(const char *s, long *secs)
{
    long sign = 1, part[3] = {0, 0, 0};
    char *end;

    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*s))
            return NULL;
        part[i] = strtol(s, &end, 10);
        s = end;
        if (part[i] > (i ? 59 : 167))
            return NULL;
        if (*s != ':' || i == 2)
            break;
        s++;
    }
    *secs = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    return s;
}

static const char *parse_int(const char *s, int *v, int lo, int hi)
{
    char *end;
    long n;

    if (!isdigit((unsigned char)*s))
        return NULL;
    n = strtol(s, &end, 10);
    if (n < lo || n > hi)
        return NULL;
    *v = (int)n;
    return end;
}

/* date[/time], the time 02:00 when absent. */
static const char *parse_date(const char *s, struct tz_date *d)
{
    memset(d, 0, sizeof *d);
    d->secs = 7200;
    if (*s == 'M') {
        d->kind = 'M';
        if (!(s = parse_int(s + 1, &d->m, 1, 12)) || *s != '.' ||
            !(s = parse_int(s + 1, &d->w, 1, 5)) || *s != '.' ||
            !(s = parse_int(s + 1, &d->d, 0, 6)))
            return NULL;
    } else if (*s == 'J') {
        d->kind = 'J';
        if (!(s = parse_int(s + 1, &d->n, 1, 365)))
            return NULL;
    } else {
        d->kind = 'D';
        if (!(s = parse_int(s, &d->n, 0, 365)))
            return NULL;
    }
    if (*s == '/')
        s = parse_hms(s + 1, &d->secs);
    return s;
}

int tz_rule_parse(const char *s, struct tz_rule *r)
{
    long v;

    memset(r, 0, sizeof *r);
    if (!(s = parse_name(s)) || !(s = parse_hms(s, &v)))
        return -1;
    r->std_off = -v;
    if (!*s)
        return 0;
    if (!(s = parse_name(s)))
        return -1;
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (*s && *s != ',') {
        if (!(s = parse_hms(s, &v)))
            return -1;
        r->dst_off = -v;
    }
    if (*s != ',') /* TZif footers always carry the rule */
        return -1;
    if (!(s = parse_date(s + 1, &r->start)) || *s != ',' ||
        !(s = parse_date(s + 1, &r->end)))
        return -1;
    return *s ? -1 : 0;
}

/* --- offsets --------------------------------------------------------------- */

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The year (Gregorian) of day number days since 1970-01-01. */
static int64_t year_of_days(int64_t days)
{
    int64_t z = days + 719468, era, doe, yoe, doy, mp;

    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    return yoe + era * 400 + (mp >= 10);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The local day (days since 1970-01-01) that d names in year y. */
static int64_t date_day(const struct tz_date *d, int64_t y)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30,
                                31, 31, 30, 31, 30, 31};
    int64_t jan1 = days_from_civil(y, 1, 1), first;
    int day, last, wday;

    if (d->kind == 'J')
        return jan1 + d->n - 1 + (is_leap(y) && d->n >= 60);
    if (d->kind == 'D')
        return jan1 + d->n;
    first = days_from_civil(y, d->m, 1);
    last = mdays[d->m - 1] + (d->m == 2 && is_leap(y));
    wday = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01: a Thursday */
    day = 1 + (d->d - wday + 7) % 7 + (d->w - 1) * 7;
    while (day > last)
        day -= 7;
    return first + day - 1;
}

long tz_rule_offset(const struct tz_rule *r, int64_t t)
{
    int64_t y, start, end;

    if (!r->has_dst)
        return r->std_off;
    y = year_of_days(floor_div(t + r->std_off, 86400));
    /* the start is written in standard time, the end in daylight time */
    start = date_day(&r->start, y) * 86400 + r->start.secs - r->std_off;
    end = date_day(&r->end, y) * 86400 + r->end.secs - r->dst_off;
    if (start < end)
        return t >= start && t < end ? r->dst_off : r->std_off;
    return t >= end && t < start ? r->std_off : r->dst_off;
}
