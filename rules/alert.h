/*
 * alert.h - grouped escalations, as Alertmanager groups alerts. An
 * `escalate level N via CHANNEL TEMPLATE` step sends nothing itself: it
 * adds its lead to the group of (recipient staff id, level, channel) in
 * Redis, and a queue job sends the group as one message:
 *
 *   escalate -> group's pending leads --(group_wait after the first lead,
 *            and group_interval after the group's last message)--> job
 *   job: freeze the leads as batch B, drop those followed up since their
 *        run began, render, claim the batch's send record, hold the job,
 *        submit -> continuation: record the outcome, an `alerted` (or
 *        `failed`) entry on each lead's timeline, then the next batch's
 *        job if leads came in meanwhile.
 *
 * A lead alerted to a group is not added to it again before
 * [alerts] repeat_interval. The batch's send record (SET NX, as a step's:
 * rules/send.c) keeps a retried job from sending twice. Keys are in
 * docs/redis.md (slm:alert:{STAFF:LEVEL:CHANNEL}...), the behaviour in
 * docs/leads.md.
 *
 * Threads: as the steps (run.h) and the engine's jobs (any worker).
 */
#ifndef NUDGE_RULES_ALERT_H
#define NUDGE_RULES_ALERT_H

#include <jansson.h>
#include <stddef.h>

#include "rules/run.h"

/* The escalate step i of r on channel ch (run_message() calls it inside
 * a job): the lead joins its group (an `escalated` entry), or is
 * `skipped` (no recipient, alerted before within repeat_interval). */
enum step_result alert_escalate(struct run *r, size_t i, const struct step *s,
                                struct channel *ch);

/* True when payload o is an alert job's. */
int alert_is_job(const json_t *o);
/* Runs the alert job with payload o: env gives the config, channels and
 * templates (env->q is not used; the job opens its own). May return
 * JOB_HELD (the continuation settles the job). o stays the caller's. */
enum job_result alert_job(const struct run_env *env,
                          const struct queue_job *job, struct rconn *rc,
                          const json_t *o, char *err, size_t n);

#endif
