/*
 * delivery.c - quiet hours and daily caps (see delivery.h), with a small
 * reader of TZif zone files (RFC 8536): the 64-bit block of version 2+
 * files, else the 32-bit one; the last transition at or before t gives
 * the offset.
 */
#include "rules/delivery.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/keys.h"
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

const char *delivery_zone(const struct config *cfg, const struct student *st)
{
    const char *tz = student_get(st, "tz");
    return tz && tz[0]              ? tz
           : cfg->delivery.timezone ? cfg->delivery.timezone
                                    : "UTC";
}

int64_t quiet_until(const char *hours, const char *zone, int64_t now_ms)
{
    int h1, m1, h2, m2, from, to, now, wait;
    long off;

    if (!hours || !hours[0] ||
        sscanf(hours, "%d:%d-%d:%d", &h1, &m1, &h2, &m2) != 4)
        return 0;
    from = h1 * 60 + m1;
    to = h2 * 60 + m2;
    if (from == to)
        return 0;
    off = tz_offset(zone, now_ms);
    now = (int)((((now_ms / 1000 + off) % 86400) + 86400) % 86400 / 60);
    if (from < to ? (now < from || now >= to) : (now < from && now >= to))
        return 0;
    wait = ((to - now) % 1440 + 1440) % 1440;
    return (now_ms / 60000 + wait) * 60000;
}

void daily_cap_key(char *key, size_t n, const struct config *cfg,
                   const char *student, const char *zone, int64_t now_ms)
{
    char suffix[32];
    time_t local;
    struct tm tm;

    if (!zone)
        zone = cfg->delivery.timezone;
    local = (time_t)(now_ms / 1000 + tz_offset(zone, now_ms));
    gmtime_r(&local, &tm);
    strftime(suffix, sizeof suffix, "sent:%Y-%m-%d", &tm);
    key_student(key, n, cfg->redis.prefix, student, suffix);
}

/* prefix student:{ID}:sent:YYYY-MM-DD of the student's local day. */
static void cap_key(char *key, size_t n, const struct config *cfg,
                    const struct student *st, int64_t now_ms)
{
    daily_cap_key(key, n, cfg, st->id, delivery_zone(cfg, st), now_ms);
}

int daily_cap_take_cmd(struct rconn *rc, const char *key)
{
    return rconn_append(rc, "INCR %s", key) < 0 ||
                   rconn_append(rc, "EXPIRE %s 172800", key) < 0
               ? -1
               : 0;
}

long long daily_cap_take_reply(struct rconn *rc)
{
    redisReply *rep = rconn_reply(rc);
    long long n;

    if (!rep)
        return -1;
    n = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
    freeReplyObject(rep);
    return rconn_discard(rc, 1) < 0 ? -1 : n;
}

int daily_cap_take(struct rconn *rc, const struct config *cfg,
                   const struct student *st, int64_t now_ms)
{
    char key[KEY_MAX];
    long long n;

    if (cfg->delivery.max_per_day <= 0)
        return 1;
    cap_key(key, sizeof key, cfg, st, now_ms);
    if (daily_cap_take_cmd(rc, key) < 0 || (n = daily_cap_take_reply(rc)) < 0)
        return -1;
    if (n <= cfg->delivery.max_per_day)
        return 1;
    daily_cap_give_back(rc, cfg, st, now_ms);
    return 0;
}

int daily_cap_give_back_key(struct rconn *rc, const char *key)
{
    redisReply *rep = rconn_cmd(rc, "DECR %s", key);

    if (!rep)
        return -1;
    freeReplyObject(rep);
    return 0;
}

void daily_cap_give_back(struct rconn *rc, const struct config *cfg,
                         const struct student *st, int64_t now_ms)
{
    char key[KEY_MAX];
    redisReply *rep;

    if (cfg->delivery.max_per_day <= 0)
        return;
    cap_key(key, sizeof key, cfg, st, now_ms);
    if ((rep = rconn_cmd(rc, "DECR %s", key)))
        freeReplyObject(rep);
}
