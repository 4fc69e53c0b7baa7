/*
 * consumer_int.h - what the events consumer's files share: the batches
 * and their items, the handoff between the reading thread (consumer.c:
 * read, recover; consumer_prepare.c: decode, look the students up) and
 * the writer thread (writer.c; consumer_commit.c: write the records, run
 * the hooks, XACK), and the consumer itself. Nothing outside
 * daemon/consumer*.c and writer.c includes it.
 */
#ifndef NUDGE_DAEMON_CONSUMER_INT_H
#define NUDGE_DAEMON_CONSUMER_INT_H

#include <pthread.h>

#include "core/consent.h"
#include "core/event.h"
#include "core/keys.h"
#include "core/metrics.h"
#include "core/redis.h"
#include "core/resp.h"
#include "core/student.h"
#include "daemon/consumer.h"
#include "daemon/consumer_name.h"

/* The reasons an event is rejected, as metrics labels (consumer.c's
 * reject_codes). */
#define NREJECT 8

struct consumer_metrics {
    struct metric *handled[EV_CUSTOM + 1];
    struct metric *rejected[NREJECT];
    struct metric *timeline_writes, *reclaimed, *batches;
};

/* One entry of a batch while it is handled. */
struct item {
    /* zeroed for each batch, up to ev */
    int accepted; /* decoded and checked */
    int known;    /* the student exists */
    enum { LOOKUP_NONE, LOOKUP_EXISTS, LOOKUP_LOAD } lookup;
    enum student_need need; /* what the hook wants of the student */
    struct student *st; /* loaded when the hook wants it */
    int exp_wanted;     /* the report's index is asked of it */
    int exposed;        /* the index holds it: its exp hash is read */
    int tags_wanted;    /* NEED_HASH: read its tags in the second trip */
    redisReply *exp;    /* that HGETALL's reply, or NULL */
    /* set by event_decode() (not zeroed: half a KB an event) */
    struct event ev;
    struct event_reject rej; /* when it is rejected */
};

/* A Redis connection and the buffer its commands are built in; one per
 * thread. */
struct link {
    struct rconn *rc;
    struct resp out;
};

/* One XREADGROUP reply's worth of events, between prepare and commit. */
struct batch {
    redisReply *reply;         /* owns the strings; NULL when borrowed */
    const redisReply *entries; /* [[id, fields], ...] */
    struct item *items;
    size_t n, cap;
    /* prepare's: the students read with NEED_HASH, asked of the hook's
     * tags_wanted() (cap entries each) */
    struct event_student *hashed;
    unsigned char *want;
    struct resp records; /* its writes, built by commit_prepare() */
    int prepared;        /* records, replies, hooks are set */
    int replies;         /* commit_send() sent commands with these replies */
    int entries_written; /* timeline entries among them */
    int hooks;           /* the hooks have work in it */
    struct event_student *hooked; /* what the hook gets, and its state */
    size_t nhooked, hooked_cap;
    void *hook_state;
    struct batch *next; /* in the handoff's spare list */
};

#define HANDOFF_DEPTH 1

/* The prepared batches waiting for the writer thread. */
struct handoff {
    pthread_mutex_t mu;
    pthread_cond_t changed;
    struct batch *q[HANDOFF_DEPTH];
    size_t head, count;
    int held; /* batches the writer has taken and not released */
    /* Batches the writer is done with, for the reader to reuse: the
     * reader allocated their replies and students, so it frees them (a
     * free on another thread's arena costs a lock), and their item arrays
     * (hundreds of KB, above malloc's mmap threshold) are kept instead of
     * being mapped and faulted in again for every batch. */
    struct batch *spare;
    int failed; /* the writer lost Redis; reset by recovery */
    int quit;
};

struct consumer {
    const struct config *cfg;
    volatile int *stop;
    struct link rd; /* reading, lookups, recovery */
    struct link wr; /* the writer thread's */
    struct handoff ho;
    pthread_t writer;
    int writer_started;
    redisReply *prefetched; /* the next batch, read with the lookups */
    char stream[KEY_MAX], rejected[KEY_MAX];
    char name[256];
    struct name_lease *lease; /* warns of a twin with our name */
    struct consumer_hook hook;
    struct consent consent;          /* [consent]: what replies mean */
    struct metric *optouts, *optins; /* from replies */
    struct consumer_metrics m;
    int64_t next_claim_ms; /* when to look for dead consumers' entries */
    int running;
};

/* consumer.c: */
/* Frees what the batch's last use left (students, the reply) and keeps
 * its item array; batch_free() frees it all. */
void batch_clear(struct batch *b);
void batch_free(struct batch *b);
/* The rejected-events counter of a reason code. */
struct metric *consumer_reject_metric(struct consumer *c, const char *code);

/* consumer_prepare.c: */
/* Decodes the entries into b and looks their students up on l. With
 * prefetch, also reads the next batch in the same round trip: *prefetch
 * gets the reply (the caller's to free). 0 or -1. */
int batch_prepare(struct consumer *c, struct link *l,
                  const redisReply *entries, struct batch *b,
                  redisReply **prefetch);

/* consumer_commit.c: */
/* Frees the hook's state of a batch whose commit failed half way. */
void batch_drop_hook(struct consumer *c, struct batch *b);
/* Builds b's writes (and its XACK when the hook has nothing in it) into
 * b->records, once: commit_send() does it if this was not called. 0 or
 * -1 (no memory). */
int commit_prepare(struct consumer *c, struct batch *b);
/* Sends b's writes on l (commit_send); for a batch with hooks
 * (b->hooks), reads their replies, lets the hook finish and sends the
 * XACK (commit_hooks); reads what replies are left (commit_finish).
 * 0 or -1. */
int commit_send(struct consumer *c, struct link *l, struct batch *b);
int commit_hooks(struct consumer *c, struct link *l, struct batch *b);
int commit_finish(struct consumer *c, struct link *l, struct batch *b);
/* All three on one link (recovery). 0 or -1. */
int batch_commit(struct consumer *c, struct link *l, struct batch *b);

/* writer.c: */
/* Hands a prepared batch over to the writer (which gives it back through
 * the spare list). 0, or -1 when the writer has failed (b is freed,
 * unacknowledged: recovery reads it again). */
int handoff_push(struct consumer *c, struct batch *b);
/* A batch to fill: a spare one cleared, or a new one. NULL: no memory. */
struct batch *batch_get(struct consumer *c);
/* Waits until the writer holds nothing; 1 if it had failed (cleared). */
int handoff_drain(struct consumer *c);
int writer_failed(struct consumer *c);
void start_writer(struct consumer *c);
/* Finishes the batches in hand, joins the thread, frees the spares. */
void stop_writer(struct consumer *c);

#endif
