/*
 * tz.c - a small reader of TZif zone files (RFC 8536), see tz.h: the
 * 64-bit block of version 2+ files, else the 32-bit one; the last
 * transition at or before t gives the offset. Zones are cached.
 */
#include "core/tz.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define ZONEINFO "/usr/share/zoneinfo/"
#define ZONE_CACHE 64
#define TZIF_MAX (1 << 20)

struct zone {
    char name[64];
    int64_t *at;  /* transition times, seconds */
    int32_t *off; /* the offset from each transition on */
    size_t n;
    int32_t first; /* before the first transition */
};

static struct zone cache[ZONE_CACHE];
static size_t ncache;
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

/* Parses one TZif data block at p (of version v: 4- or 8-byte times)
 * into z. Returns the block's size, or 0 when malformed. */
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
    need = 44 + timecnt * tsz + timecnt + typecnt * 6 + charcnt +
           leap * (tsz + 4) + isstd + isut;
    if (need > len || typecnt == 0 || timecnt > 100000)
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

static int load_zone(const char *name, struct zone *z)
{
    char path[256];
    unsigned char *buf;
    size_t len, first;
    FILE *fp;

    if (strstr(name, "..") || strlen(name) >= sizeof z->name)
        return -1;
    snprintf(path, sizeof path, ZONEINFO "%s", name);
    if (!(fp = fopen(path, "rb")))
        return -1;
    buf = malloc(TZIF_MAX);
    len = buf ? fread(buf, 1, TZIF_MAX, fp) : 0;
    fclose(fp);
    first = len ? parse_block(buf, len, 0, z) : 0;
    if (first && buf[4] >= '2')
        parse_block(buf + first, len - first, 1, z);
    free(buf);
    if (!first)
        return -1;
    snprintf(z->name, sizeof z->name, "%s", name);
    return 0;
}

long tz_offset(const char *zone, int64_t t_ms)
{
    int64_t t = t_ms / 1000;
    struct zone *z = NULL;
    long off;

    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < ncache && !z; i++)
        if (strcmp(cache[i].name, zone) == 0)
            z = &cache[i];
    if (!z && ncache < ZONE_CACHE) {
        z = &cache[ncache];
        if (load_zone(zone, z) == 0) {
            ncache++;
        } else {
            log_warnx("time zone \"%s\" unknown: using UTC", zone);
            snprintf(z->name, sizeof z->name, "%.63s", zone);
            z->n = 0;
            z->first = 0;
            ncache++;
        }
    }
    off = z ? z->first : 0;
    for (size_t i = 0; z && i < z->n && z->at[i] <= t; i++)
        off = z->off[i];
    pthread_mutex_unlock(&cache_lock);
    return off;
}

int64_t tz_to_local(const char *zone, int64_t t_ms)
{
    return t_ms + (int64_t)tz_offset(zone, t_ms) * 1000;
}

/* The offset in force at the UTC instant that local_ms names is the one
 * found from a first guess (local_ms taken as UTC) and then corrected
 * once: exact away from a change of offset; in a gap (a local time that
 * never happens) the later offset wins, in an overlap the earlier. */
int64_t tz_from_local(const char *zone, int64_t local_ms)
{
    int64_t guess = local_ms - (int64_t)tz_offset(zone, local_ms) * 1000;
    int64_t t = local_ms - (int64_t)tz_offset(zone, guess) * 1000;

    if (tz_to_local(zone, t) != local_ms) /* a gap: step past it */
        t = guess;
    return t;
}

int tz_known(const char *zone)
{
    char path[256];
    FILE *fp;

    if (!zone || !zone[0] || strstr(zone, "..") || zone[0] == '/')
        return 0;
    snprintf(path, sizeof path, ZONEINFO "%s", zone);
    if (!(fp = fopen(path, "rb")))
        return 0;
    fclose(fp);
    return 1;
}
