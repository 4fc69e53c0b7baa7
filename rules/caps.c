/*
 * caps.c - the frequency caps of a message (see caps.h): which counters,
 * and the scripts that take and give them back atomically.
 */
#include "rules/caps.h"

#include <stdio.h>
#include <string.h>

#include "core/reply.h"
#include "core/tz.h"
#include "core/worktime.h"

#define DAY_MS 86400000LL
/* A counter outlives its window by a day, so that a send that fails just
 * after midnight still finds the count it gives back. */
#define CAP_KEEP_MS DAY_MS

/* Every cap, or none: KEYS the counters, ARGV each one's limit and time
 * to live (ms). 0 when all were counted, else the first full one's
 * number (from 1). A counter's time to live is set when it is made. */
#define FIRST_FULL_LUA                                                         \
    "local n = redis.call('MGET', unpack(KEYS)) "                              \
    "for i = 1, #KEYS do "                                                     \
    "if tonumber(n[i] or '0') >= tonumber(ARGV[2*i-1]) then return i end "     \
    "end "

static _Thread_local struct rscript take_script = {
    .source = FIRST_FULL_LUA
    "for i = 1, #KEYS do "
    "if redis.call('INCR', KEYS[i]) == 1 then "
    "redis.call('PEXPIRE', KEYS[i], ARGV[2*i]) end end return 0"};

/* The same test, counting nothing. */
static _Thread_local struct rscript peek_script = {
    .source = FIRST_FULL_LUA "return 0"};

/* One count back on each counter still above 0. */
static _Thread_local struct rscript give_back_script = {
    .source = "for i = 1, #KEYS do "
              "if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then "
              "redis.call('DECR', KEYS[i]) end end return 0"};

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

/* The script's arguments for set: its counters, then each one's limit
 * and time to live. Returns argc; argv points into set and nums. */
struct caps_args {
    const char *argv[3 * CAPS_MAX];
    size_t len[3 * CAPS_MAX];
    char nums[2 * CAPS_MAX][24];
};

static int caps_args(struct caps_args *a, const struct cap_set *set,
                     int64_t now_ms)
{
    int argc = 0;

    for (size_t i = 0; i < set->n; i++)
        a->argv[argc++] = set->v[i].key;
    for (size_t i = 0; i < set->n; i++) {
        const struct cap *c = &set->v[i];
        snprintf(a->nums[2 * i], sizeof a->nums[0], "%d", c->limit);
        snprintf(a->nums[2 * i + 1], sizeof a->nums[0], "%lld",
                 (long long)(c->ends - now_ms + CAP_KEEP_MS));
        a->argv[argc++] = a->nums[2 * i];
        a->argv[argc++] = a->nums[2 * i + 1];
    }
    for (int i = 0; i < argc; i++)
        a->len[i] = strlen(a->argv[i]);
    return argc;
}

/* The script's answer: its integer; -1 on an error (in rc's errstr),
 * -2 for NOSCRIPT. Frees rep. */
static int script_answer(struct rconn *rc, redisReply *rep)
{
    int got = -1;

    if (!rep)
        return -1;
    if (rep->type == REDIS_REPLY_INTEGER)
        got = (int)rep->integer;
    else if (rconn_noscript(rep))
        got = -2;
    else
        snprintf(rc->errstr, sizeof rc->errstr, "frequency caps: %s",
                 rep->type == REDIS_REPLY_ERROR ? rep->str : "bad reply");
    reply_free(rep);
    return got;
}

/* Runs script over set now. */
static int run_script(struct rconn *rc, struct rscript *script,
                      const struct cap_set *set, int64_t now_ms)
{
    struct caps_args a;
    int argc;

    if (!set->n)
        return 0;
    argc = caps_args(&a, set, now_ms);
    return script_answer(rc, rconn_script(rc, script, (int)set->n, argc,
                                          a.argv, a.len));
}

int caps_take_cmd(struct rconn *rc, const struct cap_set *set, int64_t now_ms)
{
    struct caps_args a;
    int argc;

    if (!set->n)
        return 0;
    argc = caps_args(&a, set, now_ms);
    return rconn_script_append(rc, &take_script, (int)set->n, argc, a.argv,
                               a.len);
}

int caps_take_reply(struct rconn *rc)
{
    return script_answer(rc, rconn_reply(rc));
}

int caps_take(struct rconn *rc, const struct cap_set *set, int64_t now_ms)
{
    return run_script(rc, &take_script, set, now_ms);
}

int caps_peek(struct rconn *rc, const struct cap_set *set)
{
    return run_script(rc, &peek_script, set, 0);
}

int caps_give_back(struct rconn *rc, const struct cap_set *set)
{
    return run_script(rc, &give_back_script, set, 0) < 0 ? -1 : 0;
}

void caps_reason(const struct cap *c, char *buf, size_t n)
{
    snprintf(buf, n, "%s cap of %d %smessage%s reached",
             c->week ? "weekly" : "daily", c->limit, c->scope,
             c->limit == 1 ? "" : "s");
}
