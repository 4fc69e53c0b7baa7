/*
 * leads.h - open leads and who holds them: the bookkeeping behind `assign
 * team T [by load]`, the follow-up metric and `nudgectl overdue|leads`.
 * A lead is open from its assignment (by a rule, or the CRM's `assigned`
 * event) until it is closed ([leads] open_stages / closed_tag); while open
 * it is in its owner's set, so that "fewest open leads" is one ZCARD,
 * shared by every daemon:
 *
 *   slm:leads              hash   student id -> owner (the open leads)
 *   slm:staff:S:leads      zset   student id, score = assigned at (ms)
 *   slm:student:{ID}       hash   + assigned_at (ms), first_followup_at
 *                                 (ms), owner_followup_at (ms)
 *
 *   assigned ──► open (in the owner's set) ──► closed (in no set)
 *                   │  ▲ reassigned: the old owner's set loses it
 *                   └──┘
 *
 * The writes are Lua scripts, each one atomic; leads_take_cmd() queues
 * the assignment's inside the caller's MULTI (rules/assign.c), so that
 * the owner, its bookkeeping, the `assigned` event and the timeline entry
 * land together or not at all. docs/redis.md and docs/leads.md are the
 * contract.
 *
 * Threads: any; the functions use only the rconn they are given.
 */
#ifndef NUDGE_RULES_LEADS_H
#define NUDGE_RULES_LEADS_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/event.h"
#include "core/keys.h"
#include "core/redis.h"
#include "core/student.h"

/* The fields leads.c keeps in the student's hash. */
#define FIELD_ASSIGNED_AT "assigned_at"
#define FIELD_FIRST_FOLLOWUP_AT "first_followup_at"
#define FIELD_OWNER_FOLLOWUP_AT "owner_followup_at"

/* prefix + "staff:" id + ":leads". -1 when it does not fit. */
int leads_staff_key(char *buf, size_t n, const char *prefix, const char *id);

/* --- pure (unit-tested) --------------------------------------------------- */

/* Is the lead closed: its stage is not among [leads] open_stages (when
 * set), or it has [leads] closed_tag? 1 with why filled ("stage enrolled
 * is past the lead stages"), or 0. */
int leads_closed(const struct config *cfg, const struct student *st,
                 char *why, size_t n);
/* A lead's follow-up deadline: assigned_ms plus [leads] followup_within,
 * in working time when it says so ("24h working"; -1 when the working
 * calendar has no working day). */
int64_t leads_deadline(const struct config *cfg, int64_t assigned_ms);
/* The time (ms) a followup must be newer than to count for
 * `followed_up` under [leads] followup_by; -1 when there is none. */
int64_t leads_followup_ms(const struct config *cfg, const struct student *st);

/* --- writes --------------------------------------------------------------- */

/* Queues in rc's pipeline (inside a MULTI, say) the move of the lead to
 * owner at now_ms: the old holder's set loses it, owner's gains it, the
 * student's owner and assigned_at are set and its first followup
 * forgotten. Its reply (one) is 1. 0 or -1. */
int leads_take_cmd(struct rconn *rc, const char *prefix, const char *student,
                   const char *owner, int64_t now_ms);

/* What an accepted event means for the leads: the CRM's `assigned` moves
 * the lead (one nudge's rule caused is booked already); a followup is
 * noted (first followup: the metric); a stage or tag that closes the lead
 * takes it out of its owner's set. Each is one script, sent in a
 * pipeline with the rest of a batch's (rules/engine_batch.c), in three
 * parts: prepare fills call for ev (1; 0 when ev means nothing for the
 * leads); append queues its command on rc (0, or -1 on a connection
 * error); result takes its reply (freed; NULL: the script is run now)
 * once every reply of the pipeline is read, as a NOSCRIPT reply makes it
 * run the script itself: 0 done, -1 on a Redis error (rc->errstr), or
 * LEADS_AGAIN: the command was a question (a followup asks whether the
 * student has an owner before its script) whose answer calls for the
 * script, to be queued with append and taken with result again. The
 * student is known to exist; st is it as loaded after the event, or NULL
 * where leads_wants() said NEED_EXISTS. ev and st are borrowed until
 * result. */
#define LEADS_AGAIN 1
struct leads_call {
    const struct event *ev;
    int owner_first; /* append asks for the owner, not the script */
    struct rscript *script;
    int nkeys, argc;
    const char *argv[8];
    char skey[KEY_MAX], leads[KEY_MAX], held[KEY_MAX], at[24];
    long long at_ms; /* a followup's time */
    char why[300];   /* why a closed lead is closed */
};
int leads_event_prepare(struct leads_call *call, const struct config *cfg,
                        const struct event *ev, const struct student *st);
int leads_event_append(struct rconn *rc, struct leads_call *call);
int leads_event_result(struct rconn *rc, struct leads_call *call,
                       redisReply *rep);
/* Whether leads_on_event() has work for ev, and whether it needs the
 * student loaded or only known to exist (then st may be NULL). */
enum student_need leads_wants(const struct config *cfg, const struct event *ev);

/* --- metrics ------------------------------------------------------------- */

/* nudge_leads_assigned_total{team}. */
void leads_count_assigned(const char *team);

#endif
