/*
 * delivery.c - quiet hours and daily caps (see delivery.h); zone offsets
 * come from core/tz.h.
 */
#include "rules/delivery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/keys.h"
#include "core/log.h"
#include "core/tz.h"

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
