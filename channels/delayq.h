/*
 * delayq.h - items held until a time, then handed to a callback on the
 * queue's own thread: what a driver uses to hold a send back for its
 * rate limit when the send must be built at the moment it goes (a WeCom
 * send takes the access token current then, not the one of when it was
 * queued, which may have expired while it waited).
 *
 *   delayq_add(q, at, item) --(clock_mono_ms() >= at)--> go(arg, item)
 *
 * Items due at the same time go in the order they were added. A min-heap
 * on (at, order); one thread.
 *
 * Threads: delayq_add() from any thread; go() runs on the queue's thread
 * (quick, no blocking I/O; it may call delayq_add()). delayq_free() stops
 * the thread and hands every item not yet due to drop(), on the caller's
 * thread.
 */
#ifndef NUDGE_CHANNELS_DELAYQ_H
#define NUDGE_CHANNELS_DELAYQ_H

#include <stdint.h>

struct delayq;

/* A queue whose due items go to go(arg, item). NULL on no memory or no
 * thread. */
struct delayq *delayq_new(void (*go)(void *arg, void *item), void *arg);
/* Holds item until clock_mono_ms() >= at_ms. 0, or -1 on no memory or
 * when the queue is stopping (then the item is the caller's again). */
int delayq_add(struct delayq *q, int64_t at_ms, void *item);
/* Items held now. */
int delayq_len(struct delayq *q);
/* Stops the thread, gives each item still held to drop(arg, item), and
 * frees q. */
void delayq_free(struct delayq *q, void (*drop)(void *arg, void *item),
                 void *arg);

#endif
