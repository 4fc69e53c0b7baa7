/*
 * ratelimit.c - the per-key sliding window (see ratelimit.h): a chained
 * hash table of keys, each with a ring of its last `limit` reservation
 * times.
 */
#include "channels/ratelimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"

struct rl_key {
    struct rl_key *next; /* in its bucket */
    int count;           /* reservations in the ring, up to limit */
    int head;            /* the oldest one's slot when count == limit */
    int64_t newest;
    char *name;
    int64_t times[]; /* limit slots */
};

struct ratelimit {
    int limit;
    int64_t span_ms; /* window + guard */
    int64_t swept_ms;
    size_t nkeys, nbuckets;
    struct rl_key **buckets;
};

static size_t hash(const char *s)
{
    size_t h = 5381;

    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

struct ratelimit *ratelimit_new(int limit, int64_t window_ms, int64_t guard_ms)
{
    struct ratelimit *rl;

    if (limit < 1 || window_ms < 1 || !(rl = calloc(1, sizeof *rl)))
        return NULL;
    rl->limit = limit;
    rl->span_ms = window_ms + (guard_ms > 0 ? guard_ms : 0);
    rl->nbuckets = 256;
    if (!(rl->buckets = calloc(rl->nbuckets, sizeof *rl->buckets))) {
        free(rl);
        return NULL;
    }
    return rl;
}

static void key_free(struct rl_key *k)
{
    free(k->name);
    free(k);
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < rl->nbuckets; i++)
        for (struct rl_key *k = rl->buckets[i], *next; k; k = next) {
            next = k->next;
            key_free(k);
        }
    free(rl->buckets);
    free(rl);
}

/* Forgets every key whose newest reservation is a whole span old: its
 * window is empty, so remembering it changes no answer. */
static void sweep(struct ratelimit *rl, int64_t now_ms)
{
    for (size_t i = 0; i < rl->nbuckets; i++) {
        struct rl_key **pp = &rl->buckets[i];
        while (*pp) {
            struct rl_key *k = *pp;
            if (k->newest + rl->span_ms <= now_ms) {
                *pp = k->next;
                key_free(k);
                rl->nkeys--;
            } else {
                pp = &k->next;
            }
        }
    }
    rl->swept_ms = now_ms;
}

/* Doubles the table when keys outnumber buckets twice over, so that a
 * campaign to tens of thousands of members keeps lookups short. */
static void grow(struct ratelimit *rl)
{
    size_t n = rl->nbuckets * 2;
    struct rl_key **b = calloc(n, sizeof *b);

    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < rl->nbuckets; i++)
        for (struct rl_key *k = rl->buckets[i], *next; k; k = next) {
            size_t j = hash(k->name) % n;
            next = k->next;
            k->next = b[j];
            b[j] = k;
        }
    free(rl->buckets);
    rl->buckets = b;
    rl->nbuckets = n;
}

static struct rl_key *key_get(struct ratelimit *rl, const char *name)
{
    size_t b;
    struct rl_key *k;

    if (rl->nkeys >= 2 * rl->nbuckets)
        grow(rl);
    b = hash(name) % rl->nbuckets;

    for (k = rl->buckets[b]; k; k = k->next)
        if (strcmp(k->name, name) == 0)
            return k;
    k = calloc(1, sizeof *k + (size_t)rl->limit * sizeof k->times[0]);
    if (!k || !(k->name = strdup(name))) {
        free(k);
        return NULL;
    }
    k->next = rl->buckets[b];
    rl->buckets[b] = k;
    rl->nkeys++;
    return k;
}

int64_t ratelimit_reserve(struct ratelimit *rl, const char *key, int64_t now_ms)
{
    struct rl_key *k;
    int64_t at = now_ms;

    if (now_ms - rl->swept_ms >= rl->span_ms)
        sweep(rl, now_ms);
    if (!(k = key_get(rl, key)))
        return -1;
    if (k->count < rl->limit) {
        k->times[(k->head + k->count) % rl->limit] = at;
        k->count++;
    } else {
        /* Full: the oldest of the last `limit` must leave the window. */
        if (k->times[k->head] + rl->span_ms > at)
            at = k->times[k->head] + rl->span_ms;
        if (at < k->newest)
            at = k->newest;
        k->times[k->head] = at;
        k->head = (k->head + 1) % rl->limit;
    }
    k->newest = at;
    return at;
}

size_t ratelimit_keys(const struct ratelimit *rl)
{
    return rl->nkeys;
}

int ratelimit_parse(const char *s, int *limit, int64_t *window_ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"s", 1000}, {"m", 60000}, {"h", 3600000}};
    char *end;
    long n;

    errno = 0;
    n = strtol(s, &end, 10);
    if (errno || end == s || n < 1 || n > 1000000 || *end != '/')
        return -1;
    *limit = (int)n;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end + 1, units[i].unit) == 0) {
            *window_ms = units[i].ms;
            return 0;
        }
    return duration_parse(end + 1, window_ms);
}
