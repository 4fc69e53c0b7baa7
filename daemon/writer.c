/*
 * writer.c - the events consumer's writer thread (see consumer.c's top
 * comment): it takes the batches the reading thread prepared, one at a
 * time through a handoff of HANDOFF_DEPTH, writes each batch's records,
 * runs the rule hooks and acknowledges, keeping one batch in flight (its
 * writes' replies, or its XACK's) so that Redis always has work;
 * batches go back to the reader on a spare
 * list. A failure marks the writer failed: later batches are dropped
 * unacknowledged and the reader recovers them in order.
 */
#include <pthread.h>
#include <stdlib.h>

#include "core/log.h"
#include "daemon/consumer_int.h"

/* Takes the next prepared batch. Waits for one, unless the writer holds a
 * batch in flight (holding): then it returns NULL at once when there is
 * none, as it is time to finish that one. Also returns NULL when quitting
 * with nothing left. *failed gets whether the writer has failed. */
static struct batch *handoff_take(struct handoff *ho, int holding, int *failed)
{
    struct batch *b = NULL;

    pthread_mutex_lock(&ho->mu);
    while (ho->count == 0 && !ho->quit && !holding)
        pthread_cond_wait(&ho->changed, &ho->mu);
    if (ho->count > 0) {
        b = ho->q[ho->head];
        ho->head = (ho->head + 1) % HANDOFF_DEPTH;
        ho->count--;
        ho->held++;
        pthread_cond_broadcast(&ho->changed);
    }
    *failed = ho->failed;
    pthread_mutex_unlock(&ho->mu);
    return b;
}

/* The writer is done with b: it goes to the spare list. !ok marks the
 * writer failed (logged once). */
static void handoff_release(struct consumer *c, struct batch *b, int ok)
{
    struct handoff *ho = &c->ho;
    int newly_failed;

    batch_drop_hook(c, b); /* a commit that failed half way */
    pthread_mutex_lock(&ho->mu);
    newly_failed = !ok && !ho->failed;
    b->next = ho->spare;
    ho->spare = b;
    ho->held--;
    if (!ok)
        ho->failed = 1;
    pthread_cond_broadcast(&ho->changed);
    pthread_mutex_unlock(&ho->mu);
    if (newly_failed)
        log_warnx("writing events: %s",
                  c->wr.rc->errstr[0] ? c->wr.rc->errstr : "stopped");
}

/* Sends b's commands; reconnects first unless a batch is in flight on
 * the link (its replies would be lost with the old connection). */
static int writer_send(struct consumer *c, struct batch *b, int holding)
{
    if (!holding) {
        if (rconn_ensure(c->wr.rc) < 0)
            return -1;
    }
    return commit_send(c, &c->wr, b);
}

/* After a failure the link starts afresh: replies still owed on it (a
 * batch in flight) or commands half queued must not be taken for the
 * next batch's. */
static void writer_reset(struct consumer *c)
{
    rconn_close(c->wr.rc);
    resp_reset(&c->wr.out);
}

/* The next batch when one is waiting, built while Redis runs the writes
 * of the one before, which has hooks: it can go out only once their work
 * is done (the hook's next commands must see it), and would otherwise
 * be built then, with Redis idle (docs/performance.md). */
static struct batch *take_early(struct consumer *c)
{
    int failed;
    struct batch *next = handoff_take(&c->ho, 1, &failed);

    if (next && !failed)
        commit_prepare(c, next); /* on no memory, commit_send() says so */
    return next;
}

/* Keeps one batch in flight: sends batch N, then finishes batch N-1. */
static void *writer_main(void *arg)
{
    struct consumer *c = arg;
    struct batch *b, *inflight = NULL, *early = NULL;
    int failed;

    for (;;) {
        if ((b = early) != NULL) {
            early = NULL;
            failed = writer_failed(c);
        } else if (!(b = handoff_take(&c->ho, inflight != NULL, &failed)) &&
                   !inflight) {
            break;
        }
        /* After a failure, later batches are dropped unacknowledged: they
         * stay pending and recovery reads them again, in order. */
        int ok = !failed && (!b || writer_send(c, b, inflight != NULL) == 0);

        if (inflight) {
            ok = ok && commit_finish(c, &c->wr, inflight) == 0;
            if (!ok)
                writer_reset(c);
            handoff_release(c, inflight, ok);
            inflight = NULL;
        }
        if (!b)
            continue;
        if (ok && b->hooks) {
            early = take_early(c);
            ok = commit_hooks(c, &c->wr, b) == 0;
        }
        if (ok) {
            inflight = b;
        } else {
            writer_reset(c);
            handoff_release(c, b, ok);
        }
    }
    return NULL;
}

/* Hands a prepared batch (malloc'd; the writer frees it) over. Returns 0,
 * or -1 when the writer has failed (the batch is dropped, unacknowledged). */
int handoff_push(struct consumer *c, struct batch *b)
{
    struct handoff *ho = &c->ho;
    int ret = 0;

    pthread_mutex_lock(&ho->mu);
    while (ho->count == HANDOFF_DEPTH && !ho->failed)
        pthread_cond_wait(&ho->changed, &ho->mu);
    if (ho->failed) {
        ret = -1;
    } else {
        ho->q[(ho->head + ho->count) % HANDOFF_DEPTH] = b;
        ho->count++;
        pthread_cond_broadcast(&ho->changed);
    }
    pthread_mutex_unlock(&ho->mu);
    if (ret < 0)
        batch_free(b);
    return ret;
}

/* A batch to fill: a spare one cleared, or a new one. NULL on no memory. */
struct batch *batch_get(struct consumer *c)
{
    struct batch *b;

    pthread_mutex_lock(&c->ho.mu);
    if ((b = c->ho.spare) != NULL)
        c->ho.spare = b->next;
    pthread_mutex_unlock(&c->ho.mu);
    if (!b)
        return calloc(1, sizeof *b);
    batch_clear(b);
    b->next = NULL;
    return b;
}

static void free_spares(struct consumer *c)
{
    while (c->ho.spare) {
        struct batch *b = c->ho.spare;
        c->ho.spare = b->next;
        batch_free(b);
    }
}

/* Waits until the writer holds nothing. Returns 1 if it had failed, and
 * clears that: the caller is about to recover. */
int handoff_drain(struct consumer *c)
{
    struct handoff *ho = &c->ho;
    int failed;

    pthread_mutex_lock(&ho->mu);
    while (ho->count > 0 || ho->held > 0)
        pthread_cond_wait(&ho->changed, &ho->mu);
    failed = ho->failed;
    ho->failed = 0;
    pthread_mutex_unlock(&ho->mu);
    return failed;
}

int writer_failed(struct consumer *c)
{
    int failed;

    pthread_mutex_lock(&c->ho.mu);
    failed = c->ho.failed;
    pthread_mutex_unlock(&c->ho.mu);
    return failed;
}

void start_writer(struct consumer *c)
{
    c->writer_started = pthread_create(&c->writer, NULL, writer_main, c) == 0;
    if (!c->writer_started)
        log_warnx("cannot start the event writer thread");
}

void stop_writer(struct consumer *c)
{
    if (!c->writer_started)
        return;
    pthread_mutex_lock(&c->ho.mu);
    c->ho.quit = 1;
    pthread_cond_broadcast(&c->ho.changed);
    pthread_mutex_unlock(&c->ho.mu);
    pthread_join(c->writer, NULL);
    c->writer_started = 0;
    free_spares(c);
}
