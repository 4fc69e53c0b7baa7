/*
 * digest.h - the supervisors' daily digest ([digest] at, channel): once a
 * day, at a local time of [delivery] timezone, one message to each
 * supervisor about their team's last 24 hours: new leads, followed up in
 * time, overdue, and the slowest recruiters. Nothing is sent to a
 * supervisor with nothing to say (no new lead, none overdue).
 *
 *   engine tick -> digest_tick(): the day's firing, claimed by one daemon
 *   (SET NX) -> digest job: reads the staff and every student's timeline
 *   of the window, counts per recruiter -> one send job per supervisor:
 *   claims its send record (as alerts do), holds the job, submits, and
 *   the continuation records the outcome.
 *
 * The counts come from the timelines: `assigned` (a new lead), the first
 * `followup` after it (in time when no `escalated` came first),
 * `escalated` (overdue). Keys are in docs/redis.md, the message in
 * docs/leads.md.
 */
#ifndef NUDGE_RULES_DIGEST_H
#define NUDGE_RULES_DIGEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/run.h"

/* Queues the day's digest job when its time has come (within
 * [rules] schedule_grace) and no daemon has yet. 1 queued, 0 nothing to
 * do, -1 error. */
int digest_tick(const struct config *cfg, struct rconn *rc, int64_t now_ms);

/* True when payload o is a digest job's (the scan or a send). */
int digest_is_job(const json_t *o);
/* Runs it; a send may return JOB_HELD. o stays the caller's. */
enum job_result digest_job(const struct run_env *env,
                           const struct queue_job *job, struct rconn *rc,
                           const json_t *o, char *err, size_t n);

#endif
