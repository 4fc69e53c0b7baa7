/*
 * delayq.c - held items and the thread that releases them (see
 * delayq.h).
 */
#include "channels/delayq.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"

struct held {
    int64_t at;
    uint64_t order; /* ties go in the order they came */
    void *item;
};

struct delayq {
    void (*go)(void *arg, void *item);
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* an earlier item, or stopping */
    struct held *heap;
    int n, cap;
    uint64_t added;
    int stopping;
    pthread_t tid;
};

static int before(const struct held *a, const struct held *b)
{
    return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static void swap(struct held *a, struct held *b)
{
    struct held t = *a;

    *a = *b;
    *b = t;
}

static void heap_up(struct held *h, int i)
{
    while (i > 0 && before(&h[i], &h[(i - 1) / 2])) {
        swap(&h[i], &h[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
}

static void heap_down(struct held *h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && before(&h[l], &h[m]))
            m = l;
        if (r < n && before(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        swap(&h[i], &h[m]);
        i = m;
    }
}

/* Under mu: removes and returns the earliest item. */
static void *heap_pop(struct delayq *q)
{
    void *item = q->heap[0].item;

    q->heap[0] = q->heap[--q->n];
    heap_down(q->heap, q->n, 0);
    return item;
}

/* Under mu: room for one more. 1, or 0 on no memory. */
static int grow(struct delayq *q)
{
    int cap = q->cap ? q->cap * 2 : 64;
    struct held *h = realloc(q->heap, (size_t)cap * sizeof *h);

    if (!h)
        return 0;
    q->heap = h;
    q->cap = cap;
    return 1;
}

static struct timespec mono_at(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000L};
    return ts;
}

static void *delayq_main(void *arg)
{
    struct delayq *q = arg;

    pthread_mutex_lock(&q->mu);
    while (!q->stopping) {
        if (q->n == 0) {
            pthread_cond_wait(&q->cv, &q->mu);
        } else if (q->heap[0].at > clock_mono_ms()) {
            struct timespec until = mono_at(q->heap[0].at);
            pthread_cond_timedwait(&q->cv, &q->mu, &until);
        } else {
            void *item = heap_pop(q);
            pthread_mutex_unlock(&q->mu);
            q->go(q->arg, item);
            pthread_mutex_lock(&q->mu);
        }
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

struct delayq *delayq_new(void (*go)(void *arg, void *item), void *arg)
{
    struct delayq *q = calloc(1, sizeof *q);
    pthread_condattr_t ca;

    if (!q)
        return NULL;
    q->go = go;
    q->arg = arg;
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* clock_mono_ms() */
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&q->tid, NULL, delayq_main, q) != 0) {
        pthread_cond_destroy(&q->cv);
        pthread_mutex_destroy(&q->mu);
        free(q);
        return NULL;
    }
    return q;
}

int delayq_add(struct delayq *q, int64_t at_ms, void *item)
{
    pthread_mutex_lock(&q->mu);
    if (q->stopping || (q->n == q->cap && !grow(q))) {
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    q->heap[q->n] = (struct held){at_ms, q->added++, item};
    heap_up(q->heap, q->n++);
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

int delayq_len(struct delayq *q)
{
    int n;

    pthread_mutex_lock(&q->mu);
    n = q->n;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void delayq_free(struct delayq *q, void (*drop)(void *arg, void *item),
                 void *arg)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->tid, NULL);
    for (int i = 0; i < q->n; i++)
        drop(arg, q->heap[i].item);
    free(q->heap);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}
