/*
 * caps.c - the frequency caps of a message (see caps.h): which counters,
 * and the scripts that take and give them back atomically.
 */
#include "rules/caps.h"

#include <stdio.h>
#include <string.h>

#include "core/tz.h"
#include "core/worktime.h"

#define DAY_MS 86400000LL
/* A counter outlives its window by a day, so that a send that fails just
 * after midnight still finds the count it gives back. */
#define CAP_KEEP_MS DAY_MS

/* Every cap, or none: KEYS the counters, ARGV each one's limit and time
 * to live (ms). 0 when all were counted, else the first full one's
 * number (from 1). */
static const char TAKE_LUA[] =
    "for i = 1, #KEYS do "
    "if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[2*i-1]) "
    "then return i end end "
    "for i = 1, #KEYS do redis.call('INCR', KEYS[i]) "
    "redis.call('PEXPIRE', KEYS[i], ARGV[2*i]) end return 0";

/* The same test, counting nothing. */
static const char PEEK_LUA[] =
    "for i = 1, #KEYS do "
    "if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[2*i-1]) "
    "then return i end end return 0";

/* One count back on each counter still above 0. */
static const char GIVE_BACK_LUA[] =
    "for i = 1, #KEYS do "
    "if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then "
    "redis.call('DECR', KEYS[i]) end end return 0";

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Adds a cap of limit (0: none) on scope's counter for the local day (or
 * the week from Monday) holding now. */
static void add_cap(struct cap_set *set, const struct config *cfg,
                    const char *student, const char *zone, int64_t now_ms,
                    int limit, int week, const char *scope,
                    const char *scope_words)
{
    int64_t day = floor_div(tz_to_local(zone, now_ms), DAY_MS);
    struct cap *c;
    char date[16], suffix[160];

    if (limit <= 0 || set->n == CAPS_MAX)
        return;
    if (week)
        day -= (day + 3) % 7; /* 1970-01-01 was a Thursday */
    c = &set->v[set->n++];
    c->limit = limit;
    c->week = week;
    c->ends = tz_from_local(zone, (day + (week ? 7 : 1)) * DAY_MS);
    snprintf(c->scope, sizeof c->scope, "%s", scope_words);
    worktime_format_day(day, date, sizeof date);
    snprintf(suffix, sizeof suffix, "sent:%s%s%s", scope, week ? "w" : "",
             date);
    key_student(c->key, sizeof c->key, cfg->redis.prefix, student, suffix);
}

void caps_for(struct cap_set *set, const struct config *cfg,
              const char *student, const char *zone, enum msg_class cls,
              const struct channel *ch, int64_t now_ms)
{
    char scope[160], words[80];

    set->n = 0;
    if (cls == MSG_STAFF)
        return;
    /* The day's counter of every class keeps its name of old
     * (sent:YYYY-MM-DD): a running daemon's counts carry over. */
    add_cap(set, cfg, student, zone, now_ms, cfg->delivery.max_per_day, 0,
            "", "");
    add_cap(set, cfg, student, zone, now_ms, cfg->delivery.max_per_week, 1,
            "", "");
    snprintf(scope, sizeof scope, "%s:", msg_class_name(cls));
    snprintf(words, sizeof words, "%s ", msg_class_name(cls));
    add_cap(set, cfg, student, zone, now_ms, cfg->delivery.class_max[cls].day, 0,
            scope, words);
    add_cap(set, cfg, student, zone, now_ms, cfg->delivery.class_max[cls].week, 1,
            scope, words);
    if (!ch)
        return;
    snprintf(scope, sizeof scope, "channel:%s:", ch->name);
    snprintf(words, sizeof words, "%s channel ", ch->name);
    add_cap(set, cfg, student, zone, now_ms, ch->max_per_day, 0, scope, words);
    add_cap(set, cfg, student, zone, now_ms, ch->max_per_week, 1, scope,
            words);
}

int caps_same(const struct cap_set *a, const struct cap_set *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].limit != b->v[i].limit ||
            strcmp(a->v[i].key, b->v[i].key) != 0)
            return 0;
    return 1;
}

/* Queues EVAL of script over set's counters with their limits and times
 * to live. */
static int eval_cmd(struct rconn *rc, const char *script,
                    const struct cap_set *set, int64_t now_ms)
{
    const char *argv[3 + 3 * CAPS_MAX];
    size_t len[3 + 3 * CAPS_MAX];
    char nkeys[8], nums[2 * CAPS_MAX][24];
    int argc = 0;

    argv[argc++] = "EVAL";
    argv[argc++] = script;
    snprintf(nkeys, sizeof nkeys, "%zu", set->n);
    argv[argc++] = nkeys;
    for (size_t i = 0; i < set->n; i++)
        argv[argc++] = set->v[i].key;
    for (size_t i = 0; i < set->n; i++) {
        const struct cap *c = &set->v[i];
        snprintf(nums[2 * i], sizeof nums[0], "%d", c->limit);
        snprintf(nums[2 * i + 1], sizeof nums[0], "%lld",
                 (long long)(c->ends - now_ms + CAP_KEEP_MS));
        argv[argc++] = nums[2 * i];
        argv[argc++] = nums[2 * i + 1];
    }
    for (int i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    return rconn_appendargv(rc, argc, argv, len);
}

/* The script's answer: its integer, or -1. */
static int eval_reply(struct rconn *rc)
{
    redisReply *rep = rconn_reply(rc);
    int got = -1;

    if (!rep)
        return -1;
    if (rep->type == REDIS_REPLY_INTEGER)
        got = (int)rep->integer;
    else
        snprintf(rc->errstr, sizeof rc->errstr, "frequency caps: %s",
                 rep->type == REDIS_REPLY_ERROR ? rep->str : "bad reply");
    freeReplyObject(rep);
    return got;
}

int caps_take_cmd(struct rconn *rc, const struct cap_set *set, int64_t now_ms)
{
    return set->n ? eval_cmd(rc, TAKE_LUA, set, now_ms) : 0;
}

int caps_take_reply(struct rconn *rc)
{
    return eval_reply(rc);
}

int caps_take(struct rconn *rc, const struct cap_set *set, int64_t now_ms)
{
    if (!set->n)
        return 0;
    if (caps_take_cmd(rc, set, now_ms) < 0)
        return -1;
    return caps_take_reply(rc);
}

int caps_peek(struct rconn *rc, const struct cap_set *set)
{
    if (!set->n)
        return 0;
    if (eval_cmd(rc, PEEK_LUA, set, 0) < 0)
        return -1;
    return eval_reply(rc);
}

int caps_give_back(struct rconn *rc, const struct cap_set *set)
{
    if (!set->n)
        return 0;
    if (eval_cmd(rc, GIVE_BACK_LUA, set, 0) < 0)
        return -1;
    return eval_reply(rc) < 0 ? -1 : 0;
}

void caps_reason(const struct cap *c, char *buf, size_t n)
{
    snprintf(buf, n, "%s cap of %d %smessage%s reached",
             c->week ? "weekly" : "daily", c->limit, c->scope,
             c->limit == 1 ? "" : "s");
}
