/*
 * tz.c - a small reader of TZif zone files (RFC 8536), see tz.h: the
 * 64-bit block of version 2+ files (else the 32-bit one) gives the
 * offsets up to the file's last transition, the footer's POSIX TZ string
 * (core/tz_rule.h) every offset after it. Zones read are kept in a small
 * LRU cache; names that are not zones are never cached.
 */
#include "core/tz.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tz_rule.h"

#define ZONEINFO "/usr/share/zoneinfo/"
#define TZIF_MAX (1 << 20)
#define DAY_MS 86400000LL

struct zone {
    char name[TZ_NAME_MAX];
    int64_t *at;  /* transition times, seconds */
    int32_t *off; /* the offset from each transition on */
    size_t n;
    int32_t first;       /* before the first transition */
    int has_rule;        /* after the last one: rule (the footer) */
    struct tz_rule rule;
    uint64_t used;       /* LRU stamp; 0: a free slot */
};

static struct zone cache[TZ_CACHE];
static uint64_t tick;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static void zone_clear(struct zone *z)
{
    free(z->at);
    free(z->off);
    memset(z, 0, sizeof *z);
}

/* Parses one TZif data block at p (wide: 8-byte times, else 4) into z.
 * Returns the block's size, or 0 when malformed. */
static size_t parse_block(const unsigned char *p, size_t len, int wide,
                          struct zone *z)
{
    size_t isut, isstd, leap, timecnt, typecnt, charcnt, tsz = wide ? 8 : 4;
    size_t need;
    const unsigned char *times, *idx, *types;

    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return 0;
    isut = be32(p + 20), isstd = be32(p + 24), leap = be32(p + 28);
    timecnt = be32(p + 32), typecnt = be32(p + 36), charcnt = be32(p + 40);
    if (typecnt == 0 || timecnt > 100000 || typecnt > 256 || charcnt > 65536 ||
        leap > 100000 || isstd > 256 || isut > 256)
        return 0;
    need = 44 + timecnt * tsz + timecnt + typecnt * 6 + charcnt +
           leap * (tsz + 4) + isstd + isut;
    if (need > len)
        return 0;
    times = p + 44;
    idx = times + timecnt * tsz;
    types = idx + timecnt;
    free(z->at);
    free(z->off);
    z->at = calloc(timecnt + 1, sizeof *z->at);
    z->off = calloc(timecnt + 1, sizeof *z->off);
    if (!z->at || !z->off)
        return 0;
    for (size_t i = 0; i < timecnt; i++) {
        size_t t = idx[i] < typecnt ? idx[i] : 0;
        z->at[i] = wide ? be64(times + i * 8) : (int32_t)be32(times + i * 4);
        z->off[i] = (int32_t)be32(types + t * 6);
    }
    z->n = timecnt;
    z->first = (int32_t)be32(types);
    return need;
}

/* The footer at p: "\n" TZ-string "\n". An empty or unreadable one
 * leaves z without a rule (the last offset then holds for ever). */
static void parse_footer(const unsigned char *p, size_t len, struct zone *z)
{
    char tzs[128];
    const unsigned char *nl;

    if (len < 2 || p[0] != '\n' || !(nl = memchr(p + 1, '\n', len - 1)) ||
        (size_t)(nl - p - 1) >= sizeof tzs)
        return;
    memcpy(tzs, p + 1, (size_t)(nl - p - 1));
    tzs[nl - p - 1] = '\0';
    z->has_rule = tz_rule_parse(tzs, &z->rule) == 0;
}

/* Zone names are IANA names: letters, digits and "/_+-", no "..", not
 * absolute; anything else (a path, garbage from a CRM) is no zone. */
static int name_ok(const char *name)
{
    size_t len = name ? strlen(name) : 0;

    if (len == 0 || len >= TZ_NAME_MAX || name[0] == '/' ||
        strstr(name, "..") || strspn(name,
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "abcdefghijklmnopqrstuvwxyz"
                                     "0123456789/_+-.") != len)
        return 0;
    return 1;
}

/* Reads zone name into z (cleared first). 0, or -1: no such zone. */
static int load_zone(const char *name, struct zone *z)
{
    char path[sizeof ZONEINFO + TZ_NAME_MAX];
    unsigned char *buf;
    size_t len, first, second = 0;
    FILE *fp;

    zone_clear(z);
    if (!name_ok(name))
        return -1;
    snprintf(path, sizeof path, ZONEINFO "%s", name);
    if (!(fp = fopen(path, "rb")))
        return -1;
    buf = malloc(TZIF_MAX);
    len = buf ? fread(buf, 1, TZIF_MAX, fp) : 0; /* 0 for a directory */
    fclose(fp);
    first = len ? parse_block(buf, len, 0, z) : 0;
    if (first && buf[4] >= '2' &&
        (second = parse_block(buf + first, len - first, 1, z)))
        parse_footer(buf + first + second, len - first - second, z);
    free(buf);
    if (!first) {
        zone_clear(z);
        return -1;
    }
    snprintf(z->name, sizeof z->name, "%s", name);
    return 0;
}

/* The cached zone name, read on a miss into the least recently used
 * slot. NULL when name is no zone. Called with cache_lock held. */
static struct zone *zone_get(const char *name)
{
    struct zone *victim = &cache[0], tmp = {0};

    for (size_t i = 0; i < TZ_CACHE; i++) {
        if (cache[i].used && strcmp(cache[i].name, name) == 0) {
            cache[i].used = ++tick;
            return &cache[i];
        }
        if (cache[i].used < victim->used)
            victim = &cache[i];
    }
    if (load_zone(name, &tmp) < 0)
        return NULL; /* the cache keeps its zones */
    zone_clear(victim);
    *victim = tmp;
    victim->used = ++tick;
    return victim;
}

static long zone_offset(const struct zone *z, int64_t t)
{
    size_t lo = 0, hi = z->n;

    if (z->has_rule && (z->n == 0 || t >= z->at[z->n - 1]))
        return tz_rule_offset(&z->rule, t);
    if (z->n == 0 || t < z->at[0])
        return z->first;
    while (hi - lo > 1) { /* the last transition at or before t */
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->off[lo];
}

static int64_t floor_sec(int64_t t_ms)
{
    return t_ms / 1000 - (t_ms % 1000 < 0);
}

int tz_lookup(const char *zone, int64_t t_ms, long *off)
{
    struct zone *z;

    if (!name_ok(zone))
        return -1;
    pthread_mutex_lock(&cache_lock);
    if ((z = zone_get(zone)))
        *off = zone_offset(z, floor_sec(t_ms));
    pthread_mutex_unlock(&cache_lock);
    return z ? 0 : -1;
}

long tz_offset(const char *zone, int64_t t_ms)
{
    long off = 0;

    tz_lookup(zone, t_ms, &off);
    return off;
}

int tz_known(const char *zone)
{
    long off;
    return tz_lookup(zone, 0, &off) == 0;
}

int64_t tz_to_local(const char *zone, int64_t t_ms)
{
    return t_ms + (int64_t)tz_offset(zone, t_ms) * 1000;
}

/* The offsets a day before and a day after local_ms (read as UTC) bound
 * the two a local time can have (a zone changes at most once in two
 * days); each candidate instant is checked against its own offset. */
int64_t tz_from_local(const char *zone, int64_t local_ms)
{
    int64_t before = local_ms - (int64_t)tz_offset(zone, local_ms - DAY_MS) * 1000;
    int64_t after = local_ms - (int64_t)tz_offset(zone, local_ms + DAY_MS) * 1000;
    int ok_before = tz_to_local(zone, before) == local_ms;
    int ok_after = tz_to_local(zone, after) == local_ms;

    if (ok_before && ok_after)
        return before < after ? before : after; /* an overlap: the first */
    if (ok_after)
        return after;
    return before; /* exact, or a gap: read with the offset before it */
}

/* A local time in an overlap maps to its first instant; when that one is
 * already past, the second (read with t_ms's offset) may still be ahead. */
int64_t tz_next_local(const char *zone, int64_t t_ms, int minute)
{
    int64_t local = tz_to_local(zone, t_ms);
    int64_t day = local / DAY_MS - (local % DAY_MS < 0), at, want;
    long off_now = tz_offset(zone, t_ms);

    for (int i = 0; i < 3; i++, day++) { /* today, else tomorrow */
        want = day * DAY_MS + minute * 60000LL;
        if ((at = tz_from_local(zone, want)) >= t_ms)
            return at;
        at = want - (int64_t)off_now * 1000;
        if (at >= t_ms && tz_to_local(zone, at) == want)
            return at;
    }
    return t_ms; /* not reached: each day has the minute */
}

void tz_printable(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%.40s", name ? name : "");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
            *p = '?';
}
