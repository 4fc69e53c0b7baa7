/*
 * worktime.c - working-time arithmetic and the calendar file reader (see
 * worktime.h). Days are counted from 1970-01-01 in the zone's wall clock
 * (core/tz.h); the civil-date conversions are Howard Hinnant's.
 */
#include "core/worktime.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tz.h"

#define MIN_MS 60000LL
#define SEARCH_DAYS 3660 /* ten years without a working day: none comes */

static const char *const day_names[] = {"sun", "mon", "tue", "wed",
                                        "thu", "fri", "sat"};

/* --- dates --------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int weekday(int64_t day)
{
    return (int)(((day + 4) % 7 + 7) % 7); /* 1970-01-01 was a thursday */
}

/* "YYYY-MM-DD" (exactly) into days. 0 or -1. */
static int parse_date(const char *s, size_t len, int64_t *day)
{
    int y, m, d, dd, mm, yy;

    if (len != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (size_t i = 0; i < len; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return -1;
    y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1970)
        return -1;
    *day = days_from_civil(y, (unsigned)m, (unsigned)d);
    civil_from_days(*day, &yy, &mm, &dd);
    return yy == y && mm == m && dd == d ? 0 : -1; /* 2026-02-30 */
}

char *worktime_format_day(int64_t day, char *buf, size_t n)
{
    int y, m, d;

    civil_from_days(day, &y, &m, &d);
    snprintf(buf, n, "%04d-%02d-%02d", y, m, d);
    return buf;
}

char *worktime_format(const struct worktime *w, int64_t ms, char *buf, size_t n)
{
    int64_t local = tz_to_local(w->zone, ms);
    int64_t day = floor_div(local, WT_DAY_MS);
    int64_t min = (local - day * WT_DAY_MS) / MIN_MS;
    char date[16];

    snprintf(buf, n, "%s %02d:%02d",
             worktime_format_day(day, date, sizeof date), (int)(min / 60),
             (int)(min % 60));
    return buf;
}

/* --- setting up ---------------------------------------------------------- */

void worktime_init(struct worktime *w, const char *zone)
{
    memset(w, 0, sizeof *w);
    w->days = 0x3e; /* monday to friday */
    w->from = 9 * 60;
    w->to = 18 * 60;
    snprintf(w->zone, sizeof w->zone, "%s", zone && zone[0] ? zone : "UTC");
}

void worktime_free(struct worktime *w)
{
    for (size_t i = 0; i < w->ndates; i++)
        free(w->dates[i].name);
    for (size_t i = 0; i < w->ncovers; i++)
        free(w->covers[i].file);
    free(w->dates);
    free(w->covers);
    memset(w, 0, sizeof *w);
}

int worktime_parse_ranges(const char *s,
                          int (*fn)(int64_t first, int64_t last, void *arg),
                          void *arg, char *err, size_t n)
{
    while (*s) {
        size_t len = strcspn(s, ", \t");
        const char *dots = len ? memchr(s, '.', len) : NULL;
        int64_t first, last;

        if (len == 0) {
            s++;
            continue;
        }
        if (dots ? (dots + 1 >= s + len || dots[1] != '.' ||
                    parse_date(s, (size_t)(dots - s), &first) < 0 ||
                    parse_date(dots + 2, len - (size_t)(dots - s) - 2,
                               &last) < 0)
                 : parse_date(s, len, &first) < 0) {
            snprintf(err, n,
                     "invalid date \"%.*s\": use YYYY-MM-DD or "
                     "YYYY-MM-DD..YYYY-MM-DD",
                     (int)len, s);
            return -1;
        }
        if (!dots)
            last = first;
        if (last < first) {
            snprintf(err, n, "invalid range \"%.*s\": it ends before it "
                             "starts", (int)len, s);
            return -1;
        }
        if (fn && fn(first, last, arg))
            return 0;
        s += len;
    }
    return 0;
}

static int day_index(const char *s, size_t len)
{
    static const char *const full[] = {"sunday",    "monday",   "tuesday",
                                       "wednesday", "thursday", "friday",
                                       "saturday"};

    for (int i = 0; i < 7; i++)
        if ((len == 3 && strncmp(s, day_names[i], 3) == 0) ||
            (len == strlen(full[i]) && strncmp(s, full[i], len) == 0))
            return i;
    return -1;
}

/* One item of a days list: "mon" or "mon-fri" (wrapping: "sat-tue"). */
static int days_item(const char *s, size_t len, unsigned *days)
{
    const char *dash = memchr(s, '-', len);
    int a, b;

    if (!dash)
        a = b = day_index(s, len);
    else {
        a = day_index(s, (size_t)(dash - s));
        b = day_index(dash + 1, len - (size_t)(dash + 1 - s));
    }
    if (a < 0 || b < 0)
        return -1;
    for (int d = a;; d = (d + 1) % 7) {
        *days |= 1u << d;
        if (d == b)
            break;
    }
    return 0;
}

int worktime_parse_days(const char *s, unsigned *days, char *err, size_t n)
{
    const char *p = s;

    *days = 0;
    while (*p) {
        size_t len = strcspn(p, ",");
        while (len && isspace((unsigned char)*p))
            p++, len--;
        size_t end = len;
        while (end && isspace((unsigned char)p[end - 1]))
            end--;
        if (!end || days_item(p, end, days) < 0)
            goto bad;
        p += len;
        if (*p == ',')
            p++;
    }
    if (*days)
        return 0;
bad:
    snprintf(err, n,
             "invalid days \"%s\": use a range like mon-fri or a list like "
             "mon,tue,thu (sun mon tue wed thu fri sat)",
             s);
    return -1;
}

static int parse_hhmm(const char *s, int *min)
{
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
        s[2] != ':' || !isdigit((unsigned char)s[3]) ||
        !isdigit((unsigned char)s[4]))
        return -1;
    int h = (s[0] - '0') * 10 + s[1] - '0', m = (s[3] - '0') * 10 + s[4] - '0';
    if (m > 59 || h > 24 || (h == 24 && m))
        return -1;
    *min = h * 60 + m;
    return 0;
}

int worktime_parse_span(const char *s, int *from, int *to, char *err, size_t n)
{
    if (strlen(s) != 11 || s[5] != '-' || parse_hhmm(s, from) < 0 ||
        parse_hhmm(s + 6, to) < 0) {
        snprintf(err, n,
                 "invalid hours \"%s\": use HH:MM-HH:MM, e.g. "
                 "09:00-18:00",
                 s);
        return -1;
    }
    if (*from >= *to) {
        snprintf(err, n,
                 "invalid hours \"%s\": the end must come after "
                 "the start, within one day",
                 s);
        return -1;
    }
    return 0;
}

int worktime_set_lunch(struct worktime *w, int from, int to, char *err,
                       size_t n)
{
    if (from <= w->from || to >= w->to) {
        snprintf(err, n,
                 "the lunch break must lie inside the working "
                 "hours (%02d:%02d-%02d:%02d)",
                 w->from / 60, w->from % 60, w->to / 60, w->to % 60);
        return -1;
    }
    w->lunch_from = from;
    w->lunch_to = to;
    return 0;
}

/* --- questions ----------------------------------------------------------- */

static const struct wt_date *find_date(const struct worktime *w, int64_t day)
{
    size_t lo = 0, hi = w->ndates;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (w->dates[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < w->ndates && w->dates[lo].day == day ? &w->dates[lo] : NULL;
}

int worktime_is_workday(const struct worktime *w, int64_t day)
{
    const struct wt_date *d = find_date(w, day);

    return d ? d->work : (int)(w->days >> weekday(day) & 1);
}

int64_t worktime_day_ms(const struct worktime *w)
{
    return (int64_t)(w->to - w->from - (w->lunch_to - w->lunch_from)) * MIN_MS;
}

int64_t worktime_wait_until(const struct worktime *w, int64_t start_ms,
                            int64_t ms, long days)
{
    return worktime_add(w, start_ms, ms + days * worktime_day_ms(w));
}

int64_t worktime_covered_until(const struct worktime *w)
{
    int64_t last = -1;

    for (size_t i = 0; i < w->ncovers; i++)
        if (w->covers[i].last > last)
            last = w->covers[i].last;
    return last;
}

/* The working stretches of a working day, ms after its midnight. */
static int day_stretches(const struct worktime *w, int64_t from[2],
                         int64_t to[2])
{
    if (w->lunch_from == w->lunch_to) {
        from[0] = w->from * MIN_MS, to[0] = w->to * MIN_MS;
        return 1;
    }
    from[0] = w->from * MIN_MS, to[0] = w->lunch_from * MIN_MS;
    from[1] = w->lunch_to * MIN_MS, to[1] = w->to * MIN_MS;
    return 2;
}

int64_t worktime_add(const struct worktime *w, int64_t start_ms, int64_t dur_ms)
{
    int64_t local = tz_to_local(w->zone, start_ms);
    int64_t day = floor_div(local, WT_DAY_MS);
    int64_t at = local - day * WT_DAY_MS; /* into the day */
    int64_t left = dur_ms < 0 ? 0 : dur_ms, from[2], to[2];
    int n = day_stretches(w, from, to);

    for (int idle = 0; idle < SEARCH_DAYS; day++, at = 0) {
        if (!worktime_is_workday(w, day)) {
            idle++;
            continue;
        }
        idle = 0;
        for (int i = 0; i < n; i++) {
            if (at >= to[i])
                continue;
            int64_t s = at > from[i] ? at : from[i];
            if (left <= to[i] - s)
                return tz_from_local(w->zone, day * WT_DAY_MS + s + left);
            left -= to[i] - s;
        }
    }
    return -1;
}

int64_t worktime_next_open(const struct worktime *w, int64_t start_ms)
{
    /* No time added is the first working moment at or after the start
     * (the end of a stretch, 18:00, is not in it). An instant in working
     * time is itself, whatever the zone's round trip does to a repeated
     * local hour. */
    int64_t at = worktime_add(w, start_ms, 0);

    return at >= 0 && at < start_ms ? start_ms : at;
}

/* --- calendar files --------------------------------------------------------
 */

/* The reader's place in one file. */
struct cal_reader {
    struct worktime *w;
    struct diag *d;
    const char *path;
    int line;
    struct wt_cover *cover; /* this file's covers line, once read */
    int errors;
};

/* A word of a line and its column (from 1). */
struct cal_word {
    const char *s;
    size_t len;
    int col;
};

static void cal_error(struct cal_reader *r, int col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cal_error(struct cal_reader *r, int col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(r->d, r->path, r->line, col, "%s", msg);
    r->errors++;
}

/* The column of p in line, counting characters (UTF-8), as the rule
 * messages do, so that it points at the right place after Chinese text. */
static int char_column(const char *line, const char *p)
{
    int col = 1;

    for (const char *q = line; q < p; q++)
        col += ((unsigned char)*q & 0xc0) != 0x80;
    return col;
}

/* Splits line into at most max words; the rest of the line after the
 * last goes into that one (a holiday's name may have spaces). */
static size_t split_words(const char *line, struct cal_word *wd, size_t max)
{
    size_t n = 0;
    const char *p = line;

    while (*p && n < max) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        wd[n].s = p;
        wd[n].col = char_column(line, p);
        if (n + 1 == max) {
            size_t len = strlen(p);
            while (len && isspace((unsigned char)p[len - 1]))
                len--;
            wd[n++].len = len;
            break;
        }
        while (*p && *p != ' ' && *p != '\t')
            p++;
        wd[n].len = (size_t)(p - wd[n].s);
        n++;
    }
    return n;
}

static int word_is(const struct cal_word *wd, const char *s)
{
    return wd->len == strlen(s) && strncmp(wd->s, s, wd->len) == 0;
}

static int cal_date(struct cal_reader *r, const struct cal_word *wd,
                    int64_t *day)
{
    if (parse_date(wd->s, wd->len, day) == 0)
        return 0;
    cal_error(r, wd->col, "invalid date \"%.*s\": use YYYY-MM-DD", (int)wd->len,
              wd->s);
    return -1;
}

static void cal_covers(struct cal_reader *r, struct cal_word *wd, size_t n)
{
    int64_t a, b;
    struct wt_cover *nv;
    struct worktime *w = r->w;

    if (r->cover) {
        cal_error(r, wd[0].col, "a second \"covers\" line: one a file");
        return;
    }
    if (n != 3) {
        cal_error(r, wd[0].col,
                  "\"covers\" needs the first and the last "
                  "date, e.g. covers 2026-01-01 2026-12-31");
        return;
    }
    if (cal_date(r, &wd[1], &a) < 0 || cal_date(r, &wd[2], &b) < 0)
        return;
    if (b < a) {
        cal_error(r, wd[2].col, "the last date comes before the first");
        return;
    }
    if (!(nv = realloc(w->covers, (w->ncovers + 1) * sizeof *nv))) {
        cal_error(r, 0, "out of memory");
        return;
    }
    w->covers = nv;
    nv[w->ncovers] = (struct wt_cover){(int32_t)a, (int32_t)b, strdup(r->path)};
    r->cover = &nv[w->ncovers++];
}

/* Adds one date; the same date twice with another kind is an error. */
static void cal_put(struct cal_reader *r, int64_t day, int work,
                    const struct cal_word *name, int col)
{
    struct worktime *w = r->w;
    size_t at = 0;
    char date[16];

    while (at < w->ndates && w->dates[at].day < day)
        at++;
    if (at < w->ndates && w->dates[at].day == day) {
        if (w->dates[at].work != work)
            cal_error(r, col,
                      "%s is listed both as a holiday and as a "
                      "workday",
                      worktime_format_day(day, date, sizeof date));
        return;
    }
    if (w->ndates == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 64;
        struct wt_date *nv = realloc(w->dates, ncap * sizeof *nv);
        if (!nv) {
            cal_error(r, 0, "out of memory");
            return;
        }
        w->dates = nv;
        w->cap = ncap;
    }
    memmove(&w->dates[at + 1], &w->dates[at],
            (w->ndates - at) * sizeof *w->dates);
    w->dates[at] = (struct wt_date){(int32_t)day, (int8_t)work,
                                    name ? strndup(name->s, name->len) : NULL};
    w->ndates++;
}

/* DATE[..DATE] holiday|workday [NAME] */
static void cal_entry(struct cal_reader *r, struct cal_word *wd, size_t n)
{
    const char *dots = wd[0].len > 10 ? strstr(wd[0].s, "..") : NULL;
    struct cal_word first = wd[0], last = wd[0];
    int64_t a, b;
    char date[16];
    int work;

    if (dots && dots < wd[0].s + wd[0].len) {
        first.len = (size_t)(dots - wd[0].s);
        last.s = dots + 2;
        last.len = wd[0].len - first.len - 2;
        last.col = wd[0].col + (int)first.len + 2;
    }
    if (cal_date(r, &first, &a) < 0 || cal_date(r, &last, &b) < 0)
        return;
    if (b < a) {
        cal_error(r, last.col, "the range ends before it starts");
        return;
    }
    if (n < 2) {
        cal_error(r, wd[0].col + (int)wd[0].len,
                  "expected \"holiday\" or \"workday\" after the date");
        return;
    }
    if (!word_is(&wd[1], "holiday") && !word_is(&wd[1], "workday")) {
        cal_error(r, wd[1].col, "unknown kind \"%.*s\": use holiday or workday",
                  (int)wd[1].len, wd[1].s);
        return;
    }
    work = word_is(&wd[1], "workday");
    if (!r->cover) {
        cal_error(r, wd[0].col,
                  "a date before the \"covers\" line: "
                  "start the file with covers FIRST "
                  "LAST");
        return;
    }
    if (a < r->cover->first || b > r->cover->last) {
        cal_error(r, wd[0].col,
                  "%s is outside the dates this file "
                  "covers",
                  worktime_format_day(a < r->cover->first ? a : b, date,
                                      sizeof date));
        return;
    }
    if (b - a > 366) {
        cal_error(r, last.col, "a range longer than a year");
        return;
    }
    for (int64_t day = a; day <= b; day++)
        cal_put(r, day, work, n > 2 ? &wd[2] : NULL, wd[0].col);
}

static void cal_line(struct cal_reader *r, char *line)
{
    struct cal_word wd[3];
    size_t n;
    char *hash = strchr(line, '#');

    if (hash)
        *hash = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (!(n = split_words(line, wd, 3)))
        return;
    if (word_is(&wd[0], "covers")) {
        if (n == 3 && memchr(wd[2].s, ' ', wd[2].len)) {
            cal_error(r, wd[2].col,
                      "\"covers\" needs exactly two "
                      "dates");
            return;
        }
        return cal_covers(r, wd, n);
    }
    cal_entry(r, wd, n);
}

int worktime_load_calendar(struct worktime *w, const char *path, struct diag *d)
{
    struct cal_reader r = {.w = w, .d = d, .path = path};
    char line[1024];
    FILE *fp = fopen(path, "r");

    if (!fp)
        return -1;
    while (fgets(line, sizeof line, fp)) {
        r.line++;
        cal_line(&r, line);
    }
    fclose(fp);
    if (!r.cover && !r.errors) {
        r.line = 1;
        cal_error(&r, 0,
                  "no \"covers\" line: say which dates the file "
                  "covers, e.g. covers 2026-01-01 2026-12-31");
    }
    return r.errors;
}
