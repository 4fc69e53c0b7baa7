/*
 * pause.c - paused sends, kept in Redis and cached per process (pause.h).
 * The cache is the whole hash, refreshed by whichever thread first finds
 * it older than PAUSE_CACHE_MS: one HGETALL per half second per daemon,
 * whatever the send rate.
 */
#include "core/pause.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/keys.h"
#include "core/reply.h"

static struct {
    pthread_mutex_t lock;
    int64_t loaded_ms; /* monotonic; 0: never */
    char **fields;     /* the hash's fields */
    size_t n;
} cache = {PTHREAD_MUTEX_INITIALIZER, 0, NULL, 0};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_key(char *buf, size_t n, const char *prefix)
{
    key_global(buf, n, prefix, "pause");
}

int pause_field(char *buf, size_t n, const char *channel, const char *rule)
{
    int len;

    if (channel && rule)
        len = snprintf(buf, n, "rule:%s/channel:%s", rule, channel);
    else if (channel)
        len = snprintf(buf, n, "channel:%s", channel);
    else if (rule)
        len = snprintf(buf, n, "rule:%s", rule);
    else
        len = snprintf(buf, n, "all");
    return len < 0 || (size_t)len >= n ? -1 : 0;
}

int pause_set(struct rconn *rc, const char *prefix, const char *field,
              const char *actor, int64_t now_ms)
{
    char key[KEY_MAX], value[200];
    redisReply *rep;

    pause_key(key, sizeof key, prefix);
    snprintf(value, sizeof value, "%lld %s", (long long)now_ms, actor);
    if (!(rep = rconn_cmd(rc, "HSET %s %s %s", key, field, value)))
        return -1;
    reply_free(rep);
    return 0;
}

int pause_list(struct rconn *rc, const char *prefix, struct pause_entry **out,
               size_t *n)
{
    char key[KEY_MAX];
    redisReply *rep;
    struct pause_entry *v = NULL;
    size_t count = 0;

    *out = NULL;
    *n = 0;
    pause_key(key, sizeof key, prefix);
    if (!(rep = rconn_cmd(rc, "HGETALL %s", key)))
        return -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2 &&
        !(v = calloc(rep->elements / 2, sizeof *v))) {
        reply_free(rep);
        return -1;
    }
    for (size_t i = 0; v && i + 1 < rep->elements; i += 2) {
        const char *value = rep->element[i + 1]->str,
                   *by = value ? strchr(value, ' ') : NULL;
        struct pause_entry *e = &v[count++];
        snprintf(e->field, sizeof e->field, "%s",
                 rep->element[i]->str ? rep->element[i]->str : "?");
        e->since_ms = value ? atoll(value) : 0;
        snprintf(e->actor, sizeof e->actor, "%s", by ? by + 1 : "?");
    }
    reply_free(rep);
    *out = v;
    *n = count;
    return 0;
}

long long pause_clear(struct rconn *rc, const char *prefix, const char *field)
{
    char key[KEY_MAX];
    redisReply *rep;
    long long n;

    pause_key(key, sizeof key, prefix);
    if (field)
        rep = rconn_cmd(rc, "HDEL %s %s", key, field);
    else
        rep = rconn_cmd(rc, "EVAL %s 1 %s",
                        "local n = redis.call('HLEN', KEYS[1]) "
                        "redis.call('DEL', KEYS[1]) return n",
                        key);
    if (!rep)
        return -1;
    n = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
    reply_free(rep);
    return n;
}

static void cache_clear(void)
{
    for (size_t i = 0; i < cache.n; i++)
        free(cache.fields[i]);
    free(cache.fields);
    cache.fields = NULL;
    cache.n = 0;
}

/* Loads the hash's fields into the cache (lock held). 0 or -1. */
static int cache_load(struct rconn *rc, const char *prefix)
{
    char key[KEY_MAX];
    redisReply *rep;

    pause_key(key, sizeof key, prefix);
    if (!(rep = rconn_cmd(rc, "HKEYS %s", key)))
        return -1;
    cache_clear();
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
        (cache.fields = calloc(rep->elements, sizeof *cache.fields)))
        for (size_t i = 0; i < rep->elements; i++)
            if (rep->element[i]->type == REDIS_REPLY_STRING &&
                (cache.fields[cache.n] = strdup(rep->element[i]->str)))
                cache.n++;
    reply_free(rep);
    cache.loaded_ms = mono_ms();
    return 0;
}

static int cached(const char *field)
{
    for (size_t i = 0; i < cache.n; i++)
        if (strcmp(cache.fields[i], field) == 0)
            return 1;
    return 0;
}

int pause_blocked(struct rconn *rc, const char *prefix, const char *channel,
                  const char *rule, char *why, size_t n)
{
    const char *const wanted[][2] = {
        {NULL, NULL}, {channel, NULL}, {NULL, rule}, {channel, rule}};
    int got = 0;

    pthread_mutex_lock(&cache.lock);
    if ((!cache.loaded_ms || mono_ms() - cache.loaded_ms >= PAUSE_CACHE_MS) &&
        cache_load(rc, prefix) < 0) {
        pthread_mutex_unlock(&cache.lock);
        return -1;
    }
    for (size_t i = 0; i < 4 && !got && cache.n > 0; i++) {
        char field[300];
        if ((i & 1 && !channel) || (i & 2 && !rule) ||
            pause_field(field, sizeof field, wanted[i][0], wanted[i][1]) < 0)
            continue;
        if ((got = cached(field)))
            snprintf(why, n, "paused (%s)", field);
    }
    pthread_mutex_unlock(&cache.lock);
    return got;
}

void pause_cache_reset(void)
{
    pthread_mutex_lock(&cache.lock);
    cache_clear();
    cache.loaded_ms = 0;
    pthread_mutex_unlock(&cache.lock);
}
