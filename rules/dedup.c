/*
 * dedup.c - the claim that keeps one template from reaching one student
 * twice within [delivery] dedup_window (rules/dedup.h). send.c takes it
 * before a `send` goes out and gives it back when the send does not.
 */
#include "rules/dedup.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "core/reply.h"
#include "core/tz.h"

/* Deletes KEYS[1] only while its value is ARGV[1] "@..." (the holder's). */
static const char GIVE_BACK_LUA[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v and string.sub(v, 1, #ARGV[1] + 1) == ARGV[1] .. '@' then "
    "return redis.call('DEL', KEYS[1]) end return 0";

void dedup_key(char *key, size_t n, const char *prefix, const char *student,
               const char *tmpl, const char *as)
{
    char suffix[200];

    snprintf(suffix, sizeof suffix, "dedup:%s.%s", tmpl, as);
    key_student(key, n, prefix, student, suffix);
}

void dedup_holder(char *buf, size_t n, const char *run, size_t i)
{
    snprintf(buf, n, "%s:%zu", run, i + 1);
}

int dedup_take_cmd(struct rconn *rc, const struct config *cfg,
                   const char *key, const char *holder, int64_t now_ms)
{
    return rconn_append(rc, "SET %s %s@%lld NX PX %lld GET", key, holder,
                        (long long)now_ms,
                        (long long)cfg->delivery.dedup_window_ms);
}

int dedup_take_reply(struct rconn *rc, char *prev, size_t n)
{
    redisReply *rep = rconn_reply(rc);
    int got;

    if (!rep)
        return -1;
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(rc->errstr, sizeof rc->errstr, "dedup claim: %s", rep->str);
        got = -1;
    } else {
        got = rep->type != REDIS_REPLY_STRING; /* nil: it is ours now */
        snprintf(prev, n, "%s", got ? "" : rep->str);
    }
    reply_free(rep);
    return got;
}

int dedup_take(struct rconn *rc, const struct config *cfg, const char *key,
               const char *holder, int64_t now_ms, char *prev, size_t n)
{
    if (dedup_take_cmd(rc, cfg, key, holder, now_ms) < 0)
        return -1;
    return dedup_take_reply(rc, prev, n);
}

int dedup_peek(struct rconn *rc, const char *key, char *prev, size_t n)
{
    redisReply *rep = rconn_cmd(rc, "GET %s", key);
    int got;

    if (!rep)
        return -1;
    got = rep->type == REDIS_REPLY_STRING;
    snprintf(prev, n, "%s", got ? rep->str : "");
    reply_free(rep);
    return got;
}

int dedup_give_back(struct rconn *rc, const char *key, const char *holder)
{
    redisReply *rep =
        rconn_cmd(rc, "EVAL %s 1 %s %s", GIVE_BACK_LUA, key, holder);

    if (!rep)
        return -1;
    reply_free(rep);
    return 0;
}

int dedup_is_own(const char *prev, const char *holder)
{
    size_t k = strlen(holder);

    return strncmp(prev, holder, k) == 0 && prev[k] == '@';
}

int64_t dedup_taken_at(const char *prev)
{
    const char *at = strrchr(prev, '@');
    char *end;
    long long ms;

    if (!at)
        return 0;
    ms = strtoll(at + 1, &end, 10);
    return end == at + 1 || *end || ms < 0 ? 0 : (int64_t)ms;
}

void dedup_reason(char *buf, size_t n, const char *tmpl, const char *prev,
                  const char *zone)
{
    int64_t at = dedup_taken_at(prev), local, day_ms = 86400000;
    int min;

    if (!at) {
        snprintf(buf, n,
                 "template %s was sent to this student within dedup_window",
                 tmpl);
        return;
    }
    local = tz_to_local(zone, at);
    min = (int)(((local % day_ms) + day_ms) % day_ms / 60000);
    snprintf(buf, n,
             "template %s was sent to this student at %02d:%02d, within "
             "dedup_window",
             tmpl, min / 60, min % 60);
}
