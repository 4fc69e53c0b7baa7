/*
 * engine.h - the rule engine as nudged runs it: the checked rule set and
 * templates, the events that start runs, the queue jobs that carry runs
 * on after a wait, the schedules, and reloads.
 *
 * nudged wires it so (see daemon/nudged.c):
 *
 *     struct engine *e = engine_new(&cfg, &channels, &d);  // NULL: errors
 *     struct consumer_hook hook = {.wants = engine_hook_wants, ...,
 *                                  .ctx = e};     // every engine_hook_
 *     consumer_set_hook(consumer, &hook);
 *     struct job_hooks jobs = {engine_job, engine_prefetch, engine_drop};
 *     dispatcher_start_hooks(&cfg, &jobs, e, &stop, err, sizeof err);
 *     engine_start(e, &stop);     // schedules and file-change reloads
 *     ... SIGHUP: engine_reload(e, &d) ...
 *     engine_stop(e); engine_free(e);   // after the consumer and workers
 *
 * Threads: every entry point may be called from any thread at once; each
 * call uses the rule set that was current when it began, so a reload
 * never pulls a set from under a running step.
 *
 * Ownership: the engine borrows cfg and chans (they must outlive it).
 */
#ifndef NUDGE_RULES_ENGINE_H
#define NUDGE_RULES_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "channels/channel.h"
#include "core/config.h"
#include "core/diag.h"
#include "core/event.h"
#include "core/redis.h"
#include "core/student.h"
#include "queues/dispatcher.h"

struct engine;

/* --- life --------------------------------------------------------------- */
/* Loads and checks the rules folder and the templates folder of cfg.
 * Returns the engine, or NULL with every error in d. */
struct engine *engine_new(const struct config *cfg, struct channel_set *chans,
                          struct diag *d);
void engine_free(struct engine *e);
/* Loads both folders again: when they check clean the new set replaces
 * the old one (runs of removed or changed rules end with a timeline entry
 * when their next step comes); otherwise the old set stays and d says
 * why. Returns 0 (swapped) or -1 (kept). Logs either way. */
int engine_reload(struct engine *e, struct diag *d);
/* Says in one log line that a reload of what ("rules", "config") was
 * refused for d's errors (their count and the first) and that kept goes
 * on running; counts it in nudge_reloads_refused_total{what}. However
 * many errors d holds, one line: 1 MB of junk does not flood the log. */
void reload_refused(const char *what, const char *kept,
                    const struct diag *d);
/* Starts the engine's thread: the schedule tick (every second) and a
 * reload when a file of either folder changes (inotify). 0 or -1. */
int engine_start(struct engine *e, volatile int *stop);
/* Stops and joins that thread (whether or not *stop is set). */
void engine_stop(struct engine *e);

/* --- events ------------------------------------------------------------- */
/* What the engine needs of ev's student: whole for an opt-out to
 * confirm; loaded (but for its opt-outs) when the leads read it; its
 * hash, and its tags if engine_tags_wanted() says so, when some rule's
 * trigger matches ev; known to exist when the event alone is enough (a
 * followup for the leads); else nothing. (The consumer itself records
 * followups, whose time `stop if followed_up` reads.) */
enum student_need engine_wants(struct engine *e, const struct event *ev);
/* For events whose students were read with NEED_HASH (tags_unread):
 * want[i] = 1 where a `when` of the rules evs[i].ev triggers may hold
 * for evs[i].st, so that its tags must be read; 0 where every one is
 * false on the hash alone (engine_batch_send() then starts no run for
 * it). 0, or -1 on no memory. */
int engine_tags_wanted(struct engine *e, const struct event_student *evs,
                       size_t n, unsigned char *want);
/* A batch of events (stream order, of known students): starts the runs
 * they trigger and runs their first steps up to a wait or a message step
 * (the jobs for those are kept until engine_flush()), and notes what the
 * events mean for the leads. In two halves around one round trip
 * (rules/engine_batch.c): send queues on rc the batch's leads and
 * run-start scripts (behind whatever the caller queued first) and gives
 * the state for finish in *out (NULL: nothing to do); finish reads
 * their replies, starts the runs' steps and handles what had to wait,
 * then frees the state. evs and rc stay the caller's and must outlive
 * finish; drop frees a state whose finish will not come (the link
 * failed). 0, or -1 (nothing acknowledged: the batch is handled again). */
struct engine_batch;
int engine_batch_send(struct engine *e, struct rconn *rc,
                      const struct event_student *evs, size_t n,
                      struct engine_batch **out);
int engine_batch_finish(struct engine_batch *eb);
void engine_batch_drop(struct engine_batch *eb);
/* Writes the jobs the events handled since the last call queued (one
 * round trip per queue shard). 0, or -1: handle the events again. */
int engine_flush(struct engine *e, struct rconn *rc);

/* The same with the consumer hook's signatures (ctx is the engine;
 * daemon/consumer.h). */
enum student_need engine_hook_wants(void *ctx, const struct event *ev);
int engine_hook_tags_wanted(void *ctx, const struct event_student *evs,
                            size_t n, unsigned char *want);
int engine_hook_send(void *ctx, struct rconn *rc,
                     const struct event_student *evs, size_t n, void **state);
int engine_hook_finish(void *ctx, void *state);
void engine_hook_drop(void *ctx, void *state);
int engine_hook_flush(void *ctx, struct rconn *rc);
/* The consumer's stage_rank (rules/report.h): a stage's place in the
 * loaded rules' `stages` line, or -1. */
int engine_stage_rank(void *ctx, const char *stage);

/* --- queue jobs ------------------------------------------------------------
 */
/* The dispatcher's handler (queues/dispatcher.h; ctx is the engine): a
 * run's next step, or a batch of a schedule's scan. */
enum job_result engine_job(const struct queue_job *job, struct rconn *rc,
                           void *ctx, char *err, size_t errlen);
/* Its prefetch and drop hooks (struct job_hooks): the first read of every
 * step job of a claimed batch in one round trip (rules/jobs.c). */
void engine_prefetch(struct queue_job *jobs, size_t n, struct rconn *rc,
                     void *ctx);
void engine_drop(struct queue_job *job, struct rconn *rc, void *ctx);

/* --- schedules --------------------------------------------------------------
 */
/* Fires the scheduled rules due at now_ms (or missed by at most
 * [rules] schedule_grace): one daemon wins each firing (SET NX), scans
 * the students and queues the scan in batches that every daemon's
 * workers share. Returns the number of rules fired, or -1. */
int engine_tick(struct engine *e, struct rconn *rc, int64_t now_ms);

/* The running set's size and hash, for logs and tests. */
size_t engine_rule_count(struct engine *e);

#endif
