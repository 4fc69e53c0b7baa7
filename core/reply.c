/*
 * reply.c - hiredis reply objects kept for reuse (see reply.h).
 *
 * The pieces of a reply (the object with its string behind it, an
 * element array) are malloc() blocks sorted by size into classes of 16,
 * 32, ... 512 bytes. A request takes a block of the smallest class that
 * holds it; a freed block goes to the largest class it holds (by
 * malloc_usable_size(), so a block of any origin lands where it fits).
 * Each thread keeps its own blocks, so no lock is taken: a bounded number
 * per class, the rest going back to free(). Pieces above 512 bytes are
 * plain malloc().
 */
#include "core/reply.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NCLASSES 6 /* 16 << k bytes, k = 0..5 */
#define CLASS_BYTES(k) ((size_t)16 << (k))
/* Kept per class and thread: at most KEEP_BLOCKS blocks, and at most
 * KEEP_BYTES of them (a batch of 500 events reads about 10,000 pieces). */
#define KEEP_BLOCKS 16384
#define KEEP_BYTES ((size_t)1 << 20)

/* A class's kept blocks, as an array of pointers rather than a list
 * through the blocks: taking one reads no block, so the cache misses on
 * blocks freed long ago are the writer's, and overlap, instead of one
 * after the other. */
struct kept {
    void **v;
    size_t n, cap;
};

struct reply_cache {
    struct kept kept[NCLASSES];
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static _Thread_local struct reply_cache *cache;

/* At a thread's exit: its kept blocks go back to free(). */
static void cache_free(void *p)
{
    struct reply_cache *c = p;

    for (int k = 0; k < NCLASSES; k++) {
        for (size_t i = 0; i < c->kept[k].n; i++)
            free(c->kept[k].v[i]);
        free(c->kept[k].v);
    }
    free(c);
    cache = NULL;
}

static void cache_key_init(void)
{
    pthread_key_create(&cache_key, cache_free);
}

/* This thread's kept blocks; NULL on no memory (blocks then come and
 * go). */
static struct reply_cache *thread_cache(void)
{
    if (cache)
        return cache;
    pthread_once(&cache_once, cache_key_init);
    if ((cache = calloc(1, sizeof *cache)) != NULL &&
        pthread_setspecific(cache_key, cache) != 0) {
        free(cache);
        cache = NULL;
    }
    return cache;
}

/* The smallest class of n bytes or more; NCLASSES when none is. */
static int class_holding(size_t n)
{
    if (n <= CLASS_BYTES(0))
        return 0;
    int k = 64 - __builtin_clzll((unsigned long long)(n - 1)) - 4;
    return k < NCLASSES ? k : NCLASSES;
}

/* The largest class a block of u usable bytes holds, when it is within
 * twice that class (a bigger block would be wasted there); else -1. */
static int class_held(size_t u)
{
    if (u < CLASS_BYTES(0))
        return -1;
    int k = 63 - __builtin_clzll((unsigned long long)u) - 4;
    return k < NCLASSES ? k : -1;
}

static void *block_get(size_t n)
{
    struct reply_cache *c = thread_cache();
    int k = class_holding(n);

    if (k == NCLASSES)
        return malloc(n);
    if (c && c->kept[k].n > 0)
        return c->kept[k].v[--c->kept[k].n];
    return malloc(CLASS_BYTES(k));
}

/* Room for one more block of class k; 0, or -1 when it is full. */
static int kept_room(struct kept *kp, int k)
{
    size_t most = KEEP_BYTES >> (k + 4), cap;
    void **v;

    if (most > KEEP_BLOCKS)
        most = KEEP_BLOCKS;
    if (kp->n < kp->cap)
        return 0;
    if (kp->cap >= most)
        return -1;
    cap = kp->cap ? 2 * kp->cap : 256;
    if (!(v = realloc(kp->v, (cap < most ? cap : most) * sizeof *v)))
        return -1;
    kp->v = v;
    kp->cap = cap < most ? cap : most;
    return 0;
}

static void block_put(void *p)
{
    struct reply_cache *c;
    int k;

    if (!p)
        return;
    k = class_held(malloc_usable_size(p));
    c = thread_cache();
    if (k < 0 || !c || kept_room(&c->kept[k], k) < 0) {
        free(p);
        return;
    }
    c->kept[k].v[c->kept[k].n++] = p;
}

static redisReply *new_reply(int type)
{
    redisReply *r = block_get(sizeof *r);

    if (r) {
        memset(r, 0, sizeof *r);
        r->type = type;
    }
    return r;
}

/* Hangs r in its parent array, as hiredis's own functions do. */
static void *linked(const redisReadTask *task, redisReply *r)
{
    if (task->parent) {
        redisReply *parent = task->parent->obj;
        parent->element[task->idx] = r;
    }
    return r;
}

/* The string goes right behind its object, in one block: half the
 * blocks, and a short field's object and text share a cache line. */
static void *create_string(const redisReadTask *task, char *str, size_t len)
{
    redisReply *r = block_get(sizeof *r + len + 1);

    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    r->type = task->type;
    r->str = (char *)(r + 1);
    memcpy(r->str, str, len);
    r->str[len] = '\0';
    r->len = len;
    return linked(task, r);
}

static void *create_array(const redisReadTask *task, int elements)
{
    redisReply *r = new_reply(REDIS_REPLY_ARRAY);
    size_t bytes = (size_t)elements * sizeof *r->element;

    if (!r)
        return NULL;
    if (elements > 0) {
        /* zeroed: a reply cut short is freed with its unset elements */
        if (!(r->element = block_get(bytes))) {
            block_put(r);
            return NULL;
        }
        memset(r->element, 0, bytes);
        r->elements = (size_t)elements;
    }
    return linked(task, r);
}

static void *create_integer(const redisReadTask *task, long long value)
{
    redisReply *r = new_reply(REDIS_REPLY_INTEGER);

    if (!r)
        return NULL;
    r->integer = value;
    return linked(task, r);
}

static void *create_nil(const redisReadTask *task)
{
    redisReply *r = new_reply(REDIS_REPLY_NIL);

    return r ? linked(task, r) : NULL;
}

static redisReplyObjectFunctions pooled = {
    create_string, create_array, create_integer, create_nil, reply_free,
};

void reply_pool_attach(redisContext *c)
{
    if (c && c->reader)
        c->reader->fn = &pooled;
}

void reply_free(void *p)
{
    redisReply *r = p;

    if (!r)
        return;
    switch (r->type) {
    case REDIS_REPLY_ARRAY:
        for (size_t i = 0; r->element && i < r->elements; i++)
            reply_free(r->element[i]);
        block_put(r->element);
        break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        if (r->str != (char *)(r + 1)) /* hiredis's own: a block apart */
            block_put(r->str);
        break;
    default:
        break;
    }
    block_put(r);
}
