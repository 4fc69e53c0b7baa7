/*
 * run.h - one run of a rule for one student: its state in Redis, and its
 * steps. A run starts when a trigger fires and `when` matches (run_start:
 * one run per rule and student at a time, and `limit N per D`), runs its
 * steps up to the first `wait` or message step at once, and leaves each
 * later step to a job of the delayed queue (payload: run id, rule, rule
 * version, step, student). Messages are only sent from a job: a message
 * step reached straight from an event becomes a job due at once, so the
 * events stream never waits on a provider. A send holds its job
 * (queues/dispatcher.h) until the channel reports; the engine's
 * continuation then calls run_after_send() (rules/send.c). Every step's
 * outcome is a timeline entry. The engine (engine.h) is the only user;
 * this header is its inside.
 *
 * The steps live in three files: run.c (state, jobs, stop and tag
 * steps), assign.c (assign team; the open leads it books are
 * rules/leads.h's) and send.c (send, notify, escalate); an escalation
 * joins a grouped alert (rules/alert.h), which its own job sends.
 *
 * Redis (docs/redis.md): slm:student:{ID}:runs (hash rule -> "RUNID
 * STARTED_MS"), slm:student:{ID}:limit:RULE (sorted set of run starts),
 * and the last_touch_at field of the student's hash. It reads the
 * followup_at field, which the event consumer keeps (the time of the
 * latest followup event; daemon/consumer.c), or with [leads] followup_by
 * = owner the owner_followup_at field (rules/leads.h).
 */
#ifndef NUDGE_RULES_RUN_H
#define NUDGE_RULES_RUN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "channels/channel.h"
#include "core/config.h"
#include "core/redis.h"
#include "core/student.h"
#include "core/timeline.h"
#include "queues/dispatcher.h"
#include "core/keys.h"
#include "rules/caps.h"
#include "rules/compile.h"
#include "rules/dedup.h"
#include "rules/eval.h"
#include "templates/tmpl.h"

struct queue;
struct run_defer;
struct recipient;

/* What a step job takes for its message step with its first read
 * (engine.c), so that sending costs no round trip of its own: the send's
 * record and, for a send to the student, the template's claim and the
 * frequency caps (rules/claims.h; counted in the default zone, the step
 * corrects it for a student in another zone whose day differs). What the
 * step does not use is given back. */
struct run_pre {
    size_t step;
    int record;    /* 1 created, 0 it existed; -1 not taken or used */
    int caps;      /* caps_take()'s answer (0 taken, k > 0 cap k - 1 was
                      full); -1 not taken or used */
    struct cap_set capset; /* the caps it took, in the default zone */
    int dedup;     /* the template's claim (rules/dedup.h): 1 taken, 0 held
                      (by dedup_prev), -1 not taken or used */
    char dedup_key[KEY_MAX];
    char dedup_prev[DEDUP_HOLDER_MAX];
};

/* A run whose rule's waits are long past by this much is taken as lost
 * (its job went to the dead letters) and a new one may start. */
#define RUN_MAX_LATE_MS (24LL * 3600 * 1000)

/* What the steps of a run need from the engine. */
struct run_env {
    const struct config *cfg;
    const struct ruleset *rules;
    const struct tmpl_set *tmpls;
    struct channel_set *chans;
    struct queue *q;             /* to schedule the next step */
    struct run_defer *defer;     /* the events path: jobs are written
                                    with the batch (rules/defer.h);
                                    NULL: at once */
    /* The engine's continuation after a send: dispatcher_resume() runs
     * it with the struct run as its arg. */
    job_resume_fn after_send;
};

/* A send in flight: what run_after_send() needs to finish the step. */
struct run_send {
    size_t step;          /* its index */
    struct channel *ch;   /* where it went */
    int fallback;         /* the second attempt, on ch->fallback */
    struct cap_set caps;  /* the frequency caps it took (n = 0: none) */
    int deduped;          /* it holds the template's claim (dedup_key) */
    char dedup_key[KEY_MAX];
    char key[KEY_MAX];    /* its record: slm:student:{ID}:send:RUN:STEP */
    char to[256];         /* the recipient (masked when written) */
    char reached[160];    /* notify, escalate: "level N: STAFF", the
                             timeline entry's detail */
    struct job_hold *hold;
    struct chan_result res; /* the channel's report */
};

struct run {
    const struct run_env *env;
    struct rconn *rc;
    const struct crule *rule;
    char id[72];
    int64_t started_ms;
    int chain;   /* depth of rule-caused events that led here */
    int instant; /* no wait, no limit: no state in Redis */
    int ended;   /* its end is written (with its last send's outcome) */
    const char *student_id;
    const struct student *st; /* the data the steps see */
    struct student *own;      /* a fresh copy, when the run reloaded */
    struct rview view;
    const struct queue_job *job; /* the job running the steps, or NULL
                                    (straight from an event or a scan) */
    struct run_pre pre;          /* taken with the job's first read */
    struct run_send send;        /* the send in flight (RUN_HELD) */
};

enum run_status {
    RUN_DONE,    /* ended (all steps, or a stop) */
    RUN_WAITING, /* the next step is a queued job */
    RUN_RETRY,   /* a transient failure at step *at: try it again later */
    RUN_HELD,    /* a send is out (step *at): the job is held, and the
                    engine's continuation carries the run on. The caller
                    must not touch the run any more. */
    RUN_ERROR,   /* Redis failed: the caller retries the whole thing */
};

/* Tries to start a run of rule for st: 1 started (r filled, the view
 * loaded), 0 not started (another run of the rule is active, or the
 * limit is reached; why says which), -1 Redis error. id names the run:
 * derived from what started it (an event's id, a schedule's firing) and
 * the rule (a hash of its name), so that the same event handled twice
 * finds the first run and two rules on one event stay two; NULL for a
 * new one. */
int run_start(struct run *r, const struct run_env *env, struct rconn *rc,
              const struct crule *rule, const struct student *st, int chain,
              const char *id, char *why, size_t n);
/* run_start() in three parts, for starting many runs in one round trip
 * (rules/start_batch.h): prepare fills r and the script call; append
 * queues the call on r->rc (1; 0 for an instant rule, which needs none;
 * -1 on a connection error); result takes its reply (rep, which it
 * frees; NULL for an instant rule, or to run the script now) and returns
 * as run_start(), or RUN_START_AGAIN: the command was a question (is a
 * run of the rule going? an HGET) whose answer leaves it to the script,
 * to be queued with append and taken with result again. result may run
 * the script itself (a NOSCRIPT reply), so it must be called only once
 * every reply of the pipeline has been read. */
#define RUN_START_ARGC 9
#define RUN_START_AGAIN 3
struct run_start_call {
    int ask_first; /* append asks for the current run, not the script */
    char runs[KEY_MAX], limit[KEY_MAX], value[128];
    char now[24], ln[24], lw[24], age[24];
    const char *argv[RUN_START_ARGC];
};
void run_start_prepare(struct run *r, struct run_start_call *call,
                       const struct run_env *env, struct rconn *rc,
                       const struct crule *rule, const struct student *st,
                       int chain, const char *id);
int run_start_append(struct run *r, struct run_start_call *call);
int run_start_result(struct run *r, struct run_start_call *call,
                     redisReply *rep, char *why, size_t n);
/* Resumes a run from a job (the state was checked by the caller). */
int run_resume(struct run *r, const struct run_env *env, struct rconn *rc,
               const struct crule *rule, const char *id, int64_t started_ms,
               int chain, const struct student *st);
/* Runs steps from step `from` on; *at is the step a RUN_RETRY failed on
 * (or the step whose send is out, for RUN_HELD). */
enum run_status run_steps(struct run *r, size_t from, size_t *at, char *err,
                          size_t n);
/* The engine's continuation calls this when the channel has reported
 * r->send: the outcome goes on the timeline and the send record, then the
 * run goes on (or falls back, or asks for a retry, setting
 * job->retry_after_ms from the provider). Same returns as run_steps(). */
enum run_status run_after_send(struct run *r, struct queue_job *job,
                               size_t *at, char *err, size_t n);
/* Records an instant run (no wait, no limit: kept out of Redis) as in
 * progress, because a step of it is about to be queued after all (quiet
 * hours, a retry). 0 or -1. */
int run_persist(struct run *r);
/* Ends the run in Redis (if it is still the rule's run). 0 or -1. */
int run_end(struct run *r);
/* The same, queued in r->rc's pipeline (inside a MULTI, say): returns the
 * replies it will have (0 or 1), or -1. The caller sets r->ended once
 * they came back clean. */
int run_end_cmd(struct run *r);
void run_free(struct run *r);

/* Is run id still the active run of rule for student? 1, 0, -1. The
 * two halves let a caller send the question with other reads. */
int run_is_current(struct rconn *rc, const char *prefix, const char *student,
                   const char *rule, const char *id);
int run_is_current_cmd(struct rconn *rc, const char *prefix,
                       const char *student, const char *rule);
int run_is_current_reply(struct rconn *rc, const char *id);
/* Ends whatever run of rule the student has, with a timeline entry
 * saying why (a removed or changed rule) for its step (counted from 0
 * here, as in the job; the entry counts from 1). 0 or -1. */
int run_abandon(struct rconn *rc, const struct config *cfg, const char *student,
                const char *rule, const char *id, int step, const char *why);
/* Sets the student's last_touch_at (unix seconds; `time_since_touch`
 * reads it): a message sent to them, a followup. 0 or -1. */
int run_note_touch(struct rconn *rc, const char *prefix, const char *student,
                   int64_t now_ms);

/* The job id and JSON payload of step `step` of run r. The payload is
 * the caller's to free(). */
char *run_job_payload(const struct run *r, size_t step);
void run_job_id(const struct run *r, size_t step, char *buf, size_t n);

/* --- send records (send.c) ------------------------------------------------ */

/* How long a send's record is kept: longer than any retry schedule and
 * any replay of the event that started the run. */
#define RUN_SEND_RECORD_TTL_MS (7LL * 86400 * 1000)

/* The key of step i's send record (fallback: the fallback's). */
void run_send_record_key(const char *prefix, const char *student,
                         const char *run, size_t i, int fallback, char *buf,
                         size_t n);
/* Whether step i of rule reaches someone (send, notify, escalate). */
int run_step_sends(const struct crule *rule, size_t i);
/* Whom message step i (notify owner, escalate, send) reaches on ch: 1
 * who is filled (the caller recipient_clear()s it), 0 the step ended
 * here with its timeline entry (the template has no part for the
 * channel: failed; nobody to reach: skipped, with why), -1 Redis failed.
 * The step's send and an escalation's alert both start so. */
int run_reach(struct run *r, size_t i, const struct step *s,
              const struct channel *ch, struct recipient *who);
/* Claims a send record at key (SET NX "pending", ttl_ms), or takes the
 * claim an earlier pipelined SET NX made (created 0 or 1; -1: claim
 * now). 1 created now (no attempt before), 0 it was there (state gets
 * its value: "sent ID", "failed transient", ...), -1 error. Message
 * steps, alerts and digests all keep their records so. */
int run_record_claim(struct rconn *rc, const char *key, int64_t ttl_ms,
                     int created, char *state, size_t n);
/* --- for the steps (run.c, assign.c, send.c) ------------------------------ */

/* What one step did. */
enum step_result {
    ST_NEXT,   /* go on with the next step */
    ST_QUEUED, /* a wait: the next step is a job */
    ST_DONE,   /* the run ended (a stop) */
    ST_RETRY,  /* a transient failure: this step again later */
    ST_HELD,   /* a send is out: the run goes on in the continuation */
    ST_ERROR,  /* Redis failed */
};

enum step_result run_assign(struct run *r, size_t i, const struct step *s);
enum step_result run_message(struct run *r, size_t i, const struct step *s);
/* Message classes (core/msgclass.h, docs/policy.md): notify and escalate
 * go to staff, so their messages are class staff whatever their template
 * says; a send goes out as its part's Kind. The sending policy keys quiet
 * hours, caps and blackout dates on run_step_class(). */
int run_step_to_staff(const struct step *s);
enum msg_class run_step_class(const struct step *s,
                              const struct tmpl_part *part);

/* A timeline entry of step `step` of r (actor is its buffer). */
void run_entry(const struct run *r, size_t step, const char *type,
               const struct step *s, struct tl_entry *e, char *actor,
               size_t n);
/* Writes one (a failure to write is logged). */
/* Logs an entry of r's timeline at info: student, rule, step, what
 * happened, channel, masked recipient, template, detail. Every step
 * outcome written (run_record(), a send's outcome) is logged so. */
void run_log_entry(const struct run *r, const struct tl_entry *e);
void run_record(struct run *r, size_t step, const char *type,
                const struct step *s, const char *to, const char *provider_id,
                const char *detail);
/* Counts a step's outcome in nudge_rule_steps_total. */
void run_count(const char *outcome);
/* XADDs an event nudge causes (tag, untag, assigned). 0 or -1. */
int run_emit_event(struct run *r, const char *type, const char *field,
                   const char *value);
/* The same, queued in r->rc's pipeline (one reply). 0 or -1. */
int run_emit_event_cmd(struct run *r, const char *type, const char *field,
                       const char *value);
/* Loads the student again (after assign changed it, say). 0 or -1. */
int run_reload_student(struct run *r);
/* Queues step `step`, due delay_ms from now; suffix (or NULL) makes the
 * job id differ from the step's usual one. 0 or -1 (err says why). */
int run_schedule_step(struct run *r, size_t step, int64_t delay_ms,
                      const char *suffix, char *err, size_t n);

#endif
