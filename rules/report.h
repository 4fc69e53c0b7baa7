/*
 * report.h - the counters behind `nudgectl report` (docs/insight.md,
 * "Report and lift"), kept in Redis by every daemon as it goes, so that
 * the report reads a few keys per rule instead of every timeline.
 *
 * A rule's students fall in arms: `treated` (its run started and its
 * steps ran), `holdout` (held out: rules/holdout.h) and, for a send with
 * variants, `variant:NAME` (the variant NAME was sent to them). Each arm
 * counts, per day its students started (in [delivery] timezone), the
 * students who
 *
 *   started     entered the arm (a run started, was held out, or the
 *               variant was sent)
 *   reached     got a message of the run (the first one counts; a
 *               held-out student is never reached)
 *   replied     sent a `reply` event within [report] window of the start
 *   opted_out   opted out (an `optout` event, or a reply that opts out)
 *               within the window
 *   converted   had a `stage` event to a stage later, in the `stages`
 *               line's order, than the one they were in at the start,
 *               within the window
 *
 * Each count is a set of student ids (SADD, SCARD): counting the same
 * student twice (an event handled again, two daemons, a second stage
 * event) cannot happen, and no write needs a read first. Keys
 * (docs/redis.md): slm:report:rules (set of rule names),
 * slm:report:RULE:days and :arms (the days and arms seen),
 * slm:report:RULE:DAY:ARM:METRIC (set of ids), and per student
 * slm:student:{ID}:exp (hash: RULE -> "ARM START_MS STAGE", and
 * "RULE variant" -> the same for the variant arm), which attributes a
 * later reply, opt-out or stage to the arms the student started in; it
 * expires [report] window + 1 day after its last start; and
 * slm:report:exposed, the index of those hashes (a sorted set: id -> the
 * hash's expiry, ms), so that an event of a student who has none reads
 * nothing.
 *
 * Writers: the engine when a run starts (start_rule, holdout_record),
 * the send path when a message goes (rules/send.c), and the events
 * consumer for replies, opt-outs and stages (daemon/consumer.c), each in
 * a pipeline it already sends. [report] counters = no turns all of it
 * off. Readers: rules/report_read.h (for `nudgectl report` and the
 * supervisors' page).
 */
#ifndef NUDGE_RULES_REPORT_H
#define NUDGE_RULES_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/event.h"
#include "core/redis.h"
#include "core/resp.h"

struct run;
struct ruleset;

enum report_metric {
    REPORT_STARTED,
    REPORT_REACHED,
    REPORT_REPLIED,
    REPORT_OPTED_OUT,
    REPORT_CONVERTED,
    REPORT_NMETRICS
};

/* "started", "reached", "replied", "opted_out", "converted" */
extern const char *const report_metric_names[REPORT_NMETRICS];

#define REPORT_TREATED "treated"
#define REPORT_HOLDOUT "holdout"
#define REPORT_VARIANT "variant:" /* + the template's name */

/* --- keys ----------------------------------------------------------------- */

/* The day (YYYY-MM-DD, [delivery] timezone) of ms, the bucket of a start. */
void report_day(const struct config *cfg, int64_t ms, char *buf, size_t n);
/* slm:report:rules */
void report_rules_key(char *buf, size_t n, const char *prefix);
/* slm:report:RULE:WHAT ("days", "arms") */
void report_index_key(char *buf, size_t n, const char *prefix, const char *rule,
                      const char *what);
/* slm:report:RULE:DAY:ARM:METRIC */
void report_set_key(char *buf, size_t n, const char *prefix, const char *rule,
                    const char *day, const char *arm, enum report_metric m);

/* --- the engine ----------------------------------------------------------- */

/* Run r has started in arm (REPORT_TREATED or REPORT_HOLDOUT): counted
 * with the batch's other writes (r->env->defer), or at once when there
 * is no batch. 0, or -1 when Redis failed (logged by the caller). */
int report_run_started(struct run *r, const char *arm);
/* Message step `step` of r was sent to the student: queues in r->rc's
 * pipeline the `reached` of the run's arm and, for a variant send, the
 * start and `reached` of the variant's arm. Returns the replies queued
 * (read them with rconn_discard), or -1. */
int report_run_reached_cmd(struct run *r, size_t step);

/* --- the events consumer -------------------------------------------------- */

/* The position of a stage in the rule files' `stages` line (0 first),
 * or -1 when it is not there: what `converted` compares. */
typedef int (*report_rank_fn)(void *ctx, const char *stage);
/* 1 when ev may count (a reply, an opt-out, or a stage that rank places:
 * rank may be NULL) and the counters are on: the consumer then reads the
 * student's exp hash with its lookups. */
int report_wants_event(const struct config *cfg, const struct event *ev,
                       report_rank_fn rank, void *rank_ctx);
/* slm:report:exposed, the index of students with an exp hash: a sorted
 * set of ids, each scored with the time (ms) its hash expires. A start
 * adds its student and drops those whose time has passed; the consumer
 * reads the exp hashes of only the students the index holds. */
void report_exposed_key(char *buf, size_t n, const char *prefix);
/* Begins a ZMSCORE of the index for n students: the caller appends each
 * id (resp_str), n in all. */
void report_exposed_ask(struct resp *out, const char *prefix, size_t n);
/* 1 when score (an element of that ZMSCORE's reply) says the student's
 * exp hash may hold an entry at now_ms, and on any answer that is not a
 * score or nil (then the hash is read, as it would be without the
 * index). */
int report_exposed(const redisReply *score, int64_t now_ms);
/* Appends the HGETALL of the student's exp hash. */
void report_exp_read(struct resp *out, const char *prefix, const char *student);
int report_stage_rank(const struct ruleset *set, const char *stage);
/* Appends the counts event ev (of a student whose exp hash is exp, an
 * HGETALL reply; opted_out: it opted the student out) adds, at now_ms.
 * Returns the replies queued (0 when it counts nowhere). */
int report_attribute(struct resp *out, const struct config *cfg,
                     const redisReply *exp, const struct event *ev,
                     int opted_out, report_rank_fn rank, void *rank_ctx,
                     int64_t now_ms);

#endif
