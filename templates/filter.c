/*
 * filter.c - mask, date and number (see filter.h).
 *
 * date takes "YYYY-MM-DD" (what a CRM writes for a day; anything after the
 * day is ignored) or unix seconds, shown in China Standard Time (UTC+8,
 * no daylight saving): the dates nudge prints are days of Chinese
 * universities' calendars, and a fixed offset keeps rendering free of the
 * process-wide TZ.
 */
#include "templates/filter.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mask.h"

#define CST_OFFSET (8 * 3600)

static const char *const months_en[] = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

static int all_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

/* Reads the day of v into y, m, d; 0, or -1. */
static int parse_day(const char *v, int *y, int *m, int *d)
{
    size_t n = strlen(v);

    if (n >= 10 && all_digits(v, 4) && v[4] == '-' && all_digits(v + 5, 2) &&
        v[7] == '-' && all_digits(v + 8, 2) &&
        (n == 10 || v[10] == 'T' || v[10] == ' ')) {
        *y = atoi(v);
        *m = atoi(v + 5);
        *d = atoi(v + 8);
        return *m >= 1 && *m <= 12 && *d >= 1 &&
                       *d <= days_in_month(*y, *m)
                   ? 0
                   : -1;
    }
    if (all_digits(v, n) && n <= 11) {
        time_t t = (time_t)strtoll(v, NULL, 10) + CST_OFFSET;
        struct tm tm;
        if (!gmtime_r(&t, &tm))
            return -1;
        *y = tm.tm_year + 1900;
        *m = tm.tm_mon + 1;
        *d = tm.tm_mday;
        return 0;
    }
    return -1;
}

static int filter_date(const char *v, const char *lang, char *out, char *err,
                       size_t errlen)
{
    int y, m, d;

    if (parse_day(v, &y, &m, &d) < 0) {
        snprintf(err, errlen, "not a date (YYYY-MM-DD or unix seconds)");
        return -1;
    }
    if (lang && strncmp(lang, "en", 2) == 0)
        snprintf(out, FILTER_OUT_MAX, "%d %s %d", d, months_en[m - 1], y);
    else
        snprintf(out, FILTER_OUT_MAX, "%d年%d月%d日", y, m, d);
    return 0;
}

/* 1234567.5 -> 1,234,567.5 */
static int filter_number(const char *v, char *out, char *err, size_t errlen)
{
    const char *digits = v + (*v == '-' || *v == '+'), *dot;
    size_t ilen, flen, o = 0;

    dot = strchr(digits, '.');
    ilen = dot ? (size_t)(dot - digits) : strlen(digits);
    flen = dot ? strlen(dot + 1) : 0;
    if (!all_digits(digits, ilen) || (dot && !all_digits(dot + 1, flen)) ||
        ilen + flen > 40) {
        snprintf(err, errlen, "not a number");
        return -1;
    }
    if (*v == '-')
        out[o++] = '-';
    for (size_t i = 0; i < ilen; i++) {
        if (i > 0 && (ilen - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    if (dot) {
        out[o++] = '.';
        memcpy(out + o, dot + 1, flen);
        o += flen;
    }
    out[o] = '\0';
    return 0;
}

int tmpl_filter_apply(enum tmpl_filter f, const char *v, const char *lang,
                      char *out, char *err, size_t errlen)
{
    switch (f) {
    case FILTER_MASK:
        mask_contact(v, out, FILTER_OUT_MAX);
        return 0;
    case FILTER_DATE:
        return filter_date(v, lang, out, err, errlen);
    case FILTER_NUMBER:
        return filter_number(v, out, err, errlen);
    case FILTER_NONE:
        break;
    }
    snprintf(out, FILTER_OUT_MAX, "%s", v);
    return 0;
}
