/*
 * consumer.h - nudged's reader of the slm:events stream.
 *
 * It reads through a consumer group (several daemons share the work),
 * decodes and checks each event, records the ones that belong on the
 * student's timeline (stage, tag, untag, assigned, followup, reply,
 * optout), hands every accepted event to the hook (the rule engine), and
 * acknowledges a batch only after all of that is written. On start, and
 * after every reconnect, it first takes back its own pending entries and
 * those of consumers idle longer than claim_idle (a crashed daemon), so a
 * crash loses no event. An event it cannot handle is logged, counted,
 * recorded in slm:events:rejected (and on the timeline when the student
 * is known) and acknowledged: it never blocks the stream.
 */
#ifndef NUDGE_CONSUMER_H
#define NUDGE_CONSUMER_H

#include "core/config.h"
#include "core/event.h"
#include "core/redis.h"
#include "core/student.h"

/* The rule engine's place. wants() is asked first, so that the student is
 * loaded only for events some rule listens to, and looked for alone for
 * events that need only know it exists; send() and finish() then get
 * the batch's events of known students that the hook wants, with the
 * loaded students; flush() (may be
 * NULL) is called once the batch's events were all handled, to write
 * what finish() kept for the batch (the jobs its runs queued). finish()
 * and flush() return 0, or -1 when the batch must be handled again later
 * (Redis went away): it is then not acknowledged. */
struct consumer_hook {
    enum student_need (*wants)(void *ctx, const struct event *ev);
    /* A batch's accepted events whose students were loaded, in stream
     * order, in two halves around the round trip that writes the batch's
     * records: send queues the hook's commands on rc behind those and
     * sets *state (0, or -1 having freed it); finish reads their replies,
     * does the rest and frees the state (0 or -1); drop frees a state
     * whose finish will not come. evs stay valid until then. */
    int (*send)(void *ctx, struct rconn *rc, const struct event_student *evs,
                size_t n, void **state);
    int (*finish)(void *ctx, void *state);
    void (*drop)(void *ctx, void *state);
    int (*flush)(void *ctx, struct rconn *rc);
    void *ctx;
    /* A stage's place in the `stages` line, or -1 (may be NULL): what
     * the report's `converted` compares (rules/report.h). */
    int (*stage_rank)(void *ctx, const char *stage);
    /* For the events wants() said NEED_HASH of, once their students'
     * hashes are read: sets want[i] where evs[i]'s student must have
     * its tags read too (may be NULL: the tags are read with the hash,
     * as for NEED_LOADED). 0, or -1 (then all are read). */
    int (*tags_wanted)(void *ctx, const struct event_student *evs,
                       size_t n, unsigned char *want);
};

struct consumer;

/* Returns a consumer for cfg (borrowed; must outlive it), or NULL. stop is
 * polled between batches and while reconnecting. The caller frees with
 * consumer_free(). */
struct consumer *consumer_new(const struct config *cfg, volatile int *stop);
void consumer_free(struct consumer *c);
void consumer_set_hook(struct consumer *c, const struct consumer_hook *hook);

/* Reads and handles events until *stop; finishes the batch in hand. */
void consumer_run(struct consumer *c);

/* For /healthz: connected to Redis and reading. */
int consumer_healthy(const struct consumer *c);

#endif
