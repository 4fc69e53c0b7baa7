/*
 * run.c - a run's state in Redis and its steps (see run.h).
 */
#include "rules/run.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/join.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/mask.h"
#include "core/metrics.h"
#include "core/reply.h"
#include "core/student_store.h"
#include "core/timeline.h"
#include "core/worktime.h"
#include "queues/delayed.h"
#include "rules/claims.h"
#include "rules/defer.h"
#include "rules/variant.h"
#include "rules/delivery.h"
#include "rules/leads.h"
#include "rules/recipient.h"

/* Starts a run unless one is active or the limit is reached. A run
 * older than its rule's waits plus a day is taken as lost (its job died)
 * and replaced. The active run having this run's id means the event that
 * started it is handled again (nudged died before acknowledging it): it
 * is started again, steps and all, which find their jobs and send records
 * and so do nothing twice. KEYS: runs hash, limit zset. ARGV: rule,
 * "RUNID STARTED", now, limit n, limit window ms, max age ms, RUNID.
 * Returns 1 started, 0 busy, 2 limited. */
static _Thread_local struct rscript start_script = {
    .source =
        "local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
        "if cur and string.sub(cur, 1, #ARGV[7] + 1) == ARGV[7] .. ' ' then\n"
        "  return 1\n"
        "end\n"
        "if cur then\n"
        "  local started = tonumber(string.match(cur, ' (%d+)$'))\n"
        "  if started and started >= tonumber(ARGV[3]) - tonumber(ARGV[6])\n"
        "  then return 0 end\n"
        "end\n"
        "local n = tonumber(ARGV[4])\n"
        "if n > 0 then\n"
        "  local now, win = tonumber(ARGV[3]), tonumber(ARGV[5])\n"
        "  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - win)\n"
        "  if redis.call('ZCARD', KEYS[2]) >= n then return 2 end\n"
        "  redis.call('ZADD', KEYS[2], now, ARGV[2])\n"
        "  redis.call('PEXPIRE', KEYS[2], win)\n"
        "end\n"
        "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
        "return 1\n"};

/* Ends a run if it is still the rule's. KEYS: runs. ARGV: rule, value. */
static _Thread_local struct rscript end_script = {
    .source = "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then\n"
              "  return redis.call('HDEL', KEYS[1], ARGV[1])\n"
              "end\n"
              "return 0\n"};

/* The scripts are per thread: rconn_script() fills in the SHA on first
 * use, and threads must not write it at the same time. */

static atomic_uint run_seq;

/* --- state ---------------------------------------------------------------- */

static void run_value(const struct run *r, char *buf, size_t n)
{
    snprintf(buf, n, "%s %lld", r->id, (long long)r->started_ms);
}

static long long script_int(struct rconn *rc, struct rscript *s, int argc,
                            const char **argv)
{
    redisReply *rep = rconn_script(rc, s, 2, argc, argv, NULL);
    long long v = -1;

    if (rep && rep->type == REDIS_REPLY_INTEGER)
        v = rep->integer;
    else if (rep && rep->type == REDIS_REPLY_ERROR)
        snprintf(rc->errstr, sizeof rc->errstr, "%s", rep->str);
    if (rep)
        reply_free(rep);
    return v;
}

static void limit_key(char *buf, size_t n, const char *prefix,
                      const char *student, const char *rule)
{
    char suffix[256];
    snprintf(suffix, sizeof suffix, "limit:%s", rule);
    key_student(buf, n, prefix, student, suffix);
}

/* How long a run of rule may last before it is taken as lost: its waits
 * and a day. Working waits count as the calendar has them from now, and
 * ten days more, since the same waits begun earlier may have spanned a
 * longer holiday (China's longest is nine days). */
static int64_t run_max_age(const struct run_env *env, const struct crule *rule,
                           int64_t now_ms)
{
    int64_t age = rule->span_ms + RUN_MAX_LATE_MS, until;

    if (rule->work_ms == 0 && rule->work_days == 0)
        return age;
    until = worktime_wait_until(&env->cfg->worktime, now_ms, rule->work_ms,
                                rule->work_days);
    return age + (until > now_ms ? until - now_ms : 0) + 10 * WT_DAY_MS;
}

/* The fields a started and a resumed run share. */
static void run_init(struct run *r, const struct run_env *env,
                     struct rconn *rc, const struct crule *rule,
                     const struct student *st, int chain, int64_t started_ms)
{
    memset(r, 0, sizeof *r);
    r->pre.record = r->pre.caps = r->pre.dedup = -1;
    r->env = env;
    r->rc = rc;
    r->rule = rule;
    r->st = st;
    r->student_id = st->id;
    r->chain = chain;
    r->started_ms = started_ms;
}

void run_start_prepare(struct run *r, struct run_start_call *call,
                       const struct run_env *env, struct rconn *rc,
                       const struct crule *rule, const struct student *st,
                       int chain, const char *id)
{
    const char *prefix = env->cfg->redis.prefix;

    run_init(r, env, rc, rule, st, chain, clock_now_ms());
    if (id) /* one id per rule: two rules on one event are two runs */
        snprintf(r->id, sizeof r->id, "%s.%016llx", id,
                 (unsigned long long)fnv1a64_str(rule->name));
    else
        snprintf(r->id, sizeof r->id, "%llx-%x-%x", (long long)r->started_ms,
                 (unsigned)getpid() & 0xffff, atomic_fetch_add(&run_seq, 1));
    /* A rule with no wait and no limit runs start to end in one call: no
     * other run of it can overlap, so it keeps no state in Redis. */
    r->instant = rule->span_ms == 0 && rule->work_ms == 0 &&
                 rule->work_days == 0 && rule->src->limit_n == 0;
    key_student(call->runs, sizeof call->runs, prefix, st->id, "runs");
    limit_key(call->limit, sizeof call->limit, prefix, st->id, rule->name);
    run_value(r, call->value, sizeof call->value);
    join_long(call->now, r->started_ms);
    join_long(call->ln, rule->src->limit_n);
    join_long(call->lw, rule->src->limit_ms);
    join_long(call->age, run_max_age(env, rule, r->started_ms));
    call->argv[0] = call->runs, call->argv[1] = call->limit;
    call->argv[2] = rule->name, call->argv[3] = call->value;
    call->argv[4] = call->now, call->argv[5] = call->ln;
    call->argv[6] = call->lw, call->argv[7] = call->age;
    call->argv[8] = r->id;
    /* A run found going costs Redis an HGET, not a script call: in a
     * backlog most starts find one. */
    call->ask_first = !r->instant;
}

int run_start_append(struct run *r, struct run_start_call *call)
{
    int got;

    if (r->instant)
        return 0;
    if (call->ask_first) {
        const char *argv[3] = {"HGET", call->runs, r->rule->name};
        got = rconn_appendargv(r->rc, 3, argv, NULL);
    }
    else
        got = rconn_script_append(r->rc, &start_script, 2, RUN_START_ARGC,
                                  call->argv, NULL);
    return got < 0 ? -1 : 1;
}

/* The answer of the start script's first question (the rule's current
 * run, as HGET gives it), as the script would take it: 1 it is this run
 * (its event handled again), 0 another run is going, else
 * RUN_START_AGAIN: none, or a lost one, so the script must decide.
 * Frees rep. */
static long long asked_answer(struct run *r, struct run_start_call *call,
                              redisReply *rep)
{
    size_t len = strlen(r->id);
    long long got = RUN_START_AGAIN;

    if (rep->type == REDIS_REPLY_STRING) {
        const char *sp = strrchr(rep->str, ' ');
        long long started = sp ? strtoll(sp + 1, NULL, 10) : 0;

        if (strncmp(rep->str, r->id, len) == 0 && rep->str[len] == ' ')
            got = 1;
        else if (started > 0 &&
                 started >= r->started_ms - strtoll(call->age, NULL, 10))
            got = 0;
    } else if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(r->rc->errstr, sizeof r->rc->errstr, "%s", rep->str);
        got = -1;
    }
    reply_free(rep);
    return got;
}

/* The start script's answer: 1 started, 0 busy, 2 limited, -1 error.
 * With no reply yet, or a NOSCRIPT one (Redis never ran it, or
 * restarted), the script is run here, which loads it. */
static long long start_answer(struct run *r, struct run_start_call *call,
                              redisReply *rep)
{
    long long got = -1;

    if (call->ask_first && rep) {
        call->ask_first = 0;
        return asked_answer(r, call, rep);
    }
    call->ask_first = 0;
    if (!rep || rconn_noscript(rep)) {
        if (rep)
            reply_free(rep);
        return script_int(r->rc, &start_script, RUN_START_ARGC, call->argv);
    }
    if (rep->type == REDIS_REPLY_INTEGER)
        got = rep->integer;
    else
        snprintf(r->rc->errstr, sizeof r->rc->errstr, "%s",
                 rep->type == REDIS_REPLY_ERROR ? rep->str : "bad reply");
    reply_free(rep);
    return got;
}

int run_start_result(struct run *r, struct run_start_call *call,
                     redisReply *rep, char *why, size_t n)
{
    long long got = r->instant ? 1 : start_answer(r, call, rep);

    if (got == RUN_START_AGAIN)
        return RUN_START_AGAIN;
    if (got < 0) {
        snprintf(why, n, "starting a run: %s", r->rc->errstr);
        return -1;
    }
    if (got != 1) {
        snprintf(why, n,
                 got == 0 ? "a run of this rule is in progress"
                          : "limit reached");
        return 0;
    }
    if (rview_init(&r->view, r->env->rules) < 0) {
        snprintf(why, n, "out of memory");
        run_end(r);
        return -1;
    }
    rview_load(&r->view, r->st, r->started_ms);
    return 1;
}

int run_start(struct run *r, const struct run_env *env, struct rconn *rc,
              const struct crule *rule, const struct student *st, int chain,
              const char *id, char *why, size_t n)
{
    struct run_start_call call;

    run_start_prepare(r, &call, env, rc, rule, st, chain, id);
    return run_start_result(r, &call, NULL, why, n);
}

int run_resume(struct run *r, const struct run_env *env, struct rconn *rc,
               const struct crule *rule, const char *id, int64_t started_ms,
               int chain, const struct student *st)
{
    run_init(r, env, rc, rule, st, chain, started_ms);
    snprintf(r->id, sizeof r->id, "%s", id);
    if (rview_init(&r->view, env->rules) < 0)
        return -1;
    rview_load(&r->view, st, clock_now_ms());
    return 0;
}

int run_end(struct run *r)
{
    char runs[KEY_MAX], value[128];
    const char *argv[4];

    if (r->instant || r->ended)
        return 0;
    key_student(runs, sizeof runs, r->env->cfg->redis.prefix, r->student_id,
                "runs");
    run_value(r, value, sizeof value);
    argv[0] = runs, argv[1] = runs, argv[2] = r->rule->name, argv[3] = value;
    return script_int(r->rc, &end_script, 4, argv) < 0 ? -1 : 0;
}

int run_end_cmd(struct run *r)
{
    char runs[KEY_MAX], value[128];

    if (r->instant || r->ended)
        return 0;
    key_student(runs, sizeof runs, r->env->cfg->redis.prefix, r->student_id,
                "runs");
    run_value(r, value, sizeof value);
    /* EVAL, not EVALSHA: inside a MULTI there is no second chance after
     * a NOSCRIPT, and the script is short. */
    return rconn_append(r->rc, "EVAL %s 2 %s %s %s %s", end_script.source,
                        runs, runs, r->rule->name, value) < 0
               ? -1
               : 1;
}

void run_free(struct run *r)
{
    rview_free(&r->view);
    student_free(r->own);
    r->own = NULL;
}

int run_is_current_cmd(struct rconn *rc, const char *prefix,
                       const char *student, const char *rule)
{
    char runs[KEY_MAX];

    key_student(runs, sizeof runs, prefix, student, "runs");
    return rconn_append(rc, "HGET %s %s", runs, rule);
}

int run_is_current_reply(struct rconn *rc, const char *id)
{
    redisReply *rep = rconn_reply(rc);
    size_t len = strlen(id);
    int cur;

    if (!rep)
        return -1;
    cur = rep->type == REDIS_REPLY_STRING && strncmp(rep->str, id, len) == 0 &&
          rep->str[len] == ' ';
    reply_free(rep);
    return cur;
}

int run_is_current(struct rconn *rc, const char *prefix, const char *student,
                   const char *rule, const char *id)
{
    if (run_is_current_cmd(rc, prefix, student, rule) < 0)
        return -1;
    return run_is_current_reply(rc, id);
}

int run_note_touch(struct rconn *rc, const char *prefix, const char *student,
                   int64_t now_ms)
{
    char key[KEY_MAX];
    redisReply *rep;

    key_student(key, sizeof key, prefix, student, NULL);
    if (!(rep = rconn_cmd(rc, "HSET %s last_touch_at %lld", key,
                          (long long)(now_ms / 1000))))
        return -1;
    reply_free(rep);
    return 0;
}

/* --- jobs ------------------------------------------------------------------
 */

void run_job_id(const struct run *r, size_t step, char *buf, size_t n)
{
    /* steps counted from 1, as the timeline, the logs and simulate count
     * them (a recruiter's count); the payload's `step` is the index */
    snprintf(buf, n, "run:%s:%s:%zu", r->student_id, r->id, step + 1);
}

char *run_job_payload(const struct run *r, size_t step)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:i}", "run", r->id,
                          "rule", r->rule->name, "version", "", "step",
                          (json_int_t)step, "student", r->student_id, "started",
                          (json_int_t)r->started_ms, "chain", r->chain);
    char version[24], *s;

    if (!o)
        return NULL;
    snprintf(version, sizeof version, "%016llx",
             (unsigned long long)r->rule->version);
    json_object_set_new(o, "version", json_string(version));
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

int run_persist(struct run *r)
{
    char runs[KEY_MAX], value[128];
    redisReply *rep;

    if (!r->instant)
        return 0;
    key_student(runs, sizeof runs, r->env->cfg->redis.prefix, r->student_id,
                "runs");
    run_value(r, value, sizeof value);
    if (!(rep = rconn_cmd(r->rc, "HSET %s %s %s", runs, r->rule->name, value)))
        return -1;
    reply_free(rep);
    r->instant = 0;
    return 0;
}

/* On the events path: the job and, for an instant run, its state go with
 * the batch's (rules/defer.h). Takes payload. */
static int defer_step(struct run *r, size_t step, int64_t delay_ms,
                      const char *suffix, char *payload, char *err, size_t n)
{
    char id[200], runs[KEY_MAX], value[128];
    int got;

    run_job_id(r, step, id, sizeof id);
    if (suffix)
        strncat(id, suffix, sizeof id - strlen(id) - 1);
    key_student(runs, sizeof runs, r->env->cfg->redis.prefix, r->student_id,
                "runs");
    run_value(r, value, sizeof value);
    got = run_defer_add(r->env->defer, r->instant ? runs : NULL,
                        r->rule->name, value, id, payload, delay_ms);
    free(payload);
    if (got < 0) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    r->instant = 0;
    return 0;
}

/* Queues step `step` of r, due delay_ms from now; suffix (or NULL) makes
 * the job id differ from the step's usual one (a deferred step). 0 or
 * -1. */
int run_schedule_step(struct run *r, size_t step, int64_t delay_ms,
                      const char *suffix, char *err, size_t n)
{
    char id[200], *payload = run_job_payload(r, step);
    int got;

    if (!payload) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    if (r->env->defer)
        return defer_step(r, step, delay_ms, suffix, payload, err, n);
    if (run_persist(r) < 0) {
        free(payload);
        snprintf(err, n, "Redis: %s", r->rc->errstr);
        return -1;
    }
    run_job_id(r, step, id, sizeof id);
    if (suffix)
        strncat(id, suffix, sizeof id - strlen(id) - 1);
    got = queue_schedule(r->env->q, id, payload, strlen(payload), delay_ms);
    free(payload);
    if (got < 0) {
        snprintf(err, n, "queue: %s", queue_error(r->env->q));
        return -1;
    }
    return 0;
}

/* --- the timeline -----------------------------------------------------------
 */

void run_entry(const struct run *r, size_t step, const char *type,
               const struct step *s, struct tl_entry *e, char *actor,
               size_t n)
{
    snprintf(actor, n, "rule:%s", r->rule->name);
    *e = (struct tl_entry)TL_ENTRY_INIT;
    e->type = type;
    e->rule = r->rule->name;
    e->step = (int)step + 1; /* a recruiter counts from 1 (docs/redis.md) */
    e->channel = s ? s->channel : NULL;
    e->template_name = s ? s->tmpl : NULL;
    if (s && s->nvariants) /* rules/variant.h: the student's draw */
        e->template_name = e->variant = variant_template(
            s, r->rule->name, step, r->student_id);
    e->actor = actor;
}

void run_log_entry(const struct run *r, const struct tl_entry *e)
{
    char to[160];

    if (log_get_level() < LOG_LVL_INFO)
        return; /* every step passes here: no masking for a dropped line */
    /* the timeline's `to` is masked when written; so is every log line
     * (core/log.c), and this one masks it itself too */
    if (e->to)
        mask_contact(e->to, to, sizeof to);
    log_info("student %s rule %s step %d: %s%s%s%s%s%s%s%s%s", r->student_id,
             e->rule ? e->rule : "-", e->step, e->type,
             e->channel ? " via " : "", e->channel ? e->channel : "",
             e->to ? " to " : "", e->to ? to : "",
             e->template_name ? " template " : "",
             e->template_name ? e->template_name : "",
             e->detail ? ": " : "", e->detail ? e->detail : "");
}

void run_record(struct run *r, size_t step, const char *type,
                const struct step *s, const char *to, const char *provider_id,
                const char *detail)
{
    struct tl_entry e;
    char actor[160];

    run_entry(r, step, type, s, &e, actor, sizeof actor);
    e.to = to;
    e.provider_id = provider_id;
    e.detail = detail;
    run_log_entry(r, &e);
    if (timeline_append(r->rc, r->env->cfg->redis.prefix, r->student_id,
                        r->env->cfg->redis.timeline_maxlen, &e) < 0)
        log_warnx("timeline of %s: %s", r->student_id, r->rc->errstr);
}

void run_count(const char *outcome)
{
    char labels[64];
    snprintf(labels, sizeof labels, "outcome=\"%s\"", outcome);
    metric_inc(metric_counter("nudge_rule_steps_total",
                              "Rule steps run, by outcome", labels));
}

/* --- events nudge causes -------------------------------------------------- */

/* Queues the XADD of an event (tag, untag, assigned) with its chain
 * depth in r->rc's pipeline. */
int run_emit_event_cmd(struct run *r, const char *type, const char *field,
                       const char *value)
{
    char stream[KEY_MAX], chain[16], actor[160];
    const char *argv[15];

    key_global(stream, sizeof stream, r->env->cfg->redis.prefix, "events");
    snprintf(chain, sizeof chain, "%d", r->chain + 1);
    snprintf(actor, sizeof actor, "rule:%s", r->rule->name);
    argv[0] = "XADD", argv[1] = stream, argv[2] = "*";
    argv[3] = "type", argv[4] = type, argv[5] = "student";
    argv[6] = r->student_id, argv[7] = field, argv[8] = value;
    argv[9] = "chain", argv[10] = chain, argv[11] = "actor", argv[12] = actor;
    argv[13] = "rule", argv[14] = r->rule->name;
    return rconn_appendargv(r->rc, 15, argv, NULL);
}

int run_emit_event(struct run *r, const char *type, const char *field,
                   const char *value)
{
    redisReply *rep;

    if (run_emit_event_cmd(r, type, field, value) < 0 ||
        !(rep = rconn_reply(r->rc)))
        return -1;
    reply_free(rep);
    return 0;
}

/* --- steps
 * --------------------------------------------------------------------- */

/* Reloads the student (after assign changed it, say). 0 or -1. */
int run_reload_student(struct run *r)
{
    struct student *fresh = NULL;
    int got =
        student_load(r->rc, r->env->cfg->redis.prefix, r->student_id, &fresh);

    if (got <= 0)
        return got < 0 ? -1 : 0;
    student_free(r->own);
    r->own = fresh;
    r->st = fresh;
    rview_load(&r->view, fresh, clock_now_ms());
    return 0;
}

static enum step_result step_stop(struct run *r, size_t i, const struct step *s)
{
    char text[512], detail[600];
    int64_t followup_ms = leads_followup_ms(r->env->cfg, r->st);
    int holds;

    if (!s->cond) {
        run_record(r, i, "skipped", NULL, NULL, NULL, "stop: the run ends");
        return ST_DONE;
    }
    /* The student was loaded fresh for this step (engine_job). */
    r->view.followed_up = followup_ms >= r->started_ms;
    holds = rule_cond(r->rule, r->rule->steps[i].cond, &r->view);
    if (s->unless)
        holds = !holds;
    if (!holds)
        return ST_NEXT;
    snprintf(detail, sizeof detail, "stop %s %s: the run ends",
             s->unless ? "unless" : "if",
             cond_format(s->cond, text, sizeof text));
    run_record(r, i, "skipped", NULL, NULL, NULL, detail);
    run_count("stopped");
    return ST_DONE;
}

static enum step_result step_tag(struct run *r, size_t i, const struct step *s)
{
    char key[KEY_MAX];
    redisReply *rep;
    int changed, add = s->kind == STEP_TAG_ADD;

    key_student(key, sizeof key, r->env->cfg->redis.prefix, r->student_id,
                KEY_TAGS);
    if (!(rep =
              rconn_cmd(r->rc, "%s %s %s", add ? "SADD" : "SREM", key, s->arg)))
        return ST_ERROR;
    changed = rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
    reply_free(rep);
    if (changed && run_emit_event(r, add ? "tag" : "untag", "tag", s->arg) < 0)
        return ST_ERROR;
    if (!changed) { /* no event, so the consumer records nothing */
        char why[300];
        snprintf(why, sizeof why, "tag \"%s\" %s", s->arg,
                 add ? "was already there" : "was not there");
        run_record(r, i, "skipped", NULL, NULL, NULL, why);
    }
    return run_reload_student(r) < 0 ? ST_ERROR : ST_NEXT;
}

/* A wait: the next step becomes a job due after it. A `working` wait is
 * due when the school's working calendar ([worktime]) has counted it. */
static enum step_result step_wait(struct run *r, size_t i,
                                  const struct step *s, char *err, size_t n)
{
    int64_t delay = s->ms, now, due;

    if (s->working) {
        now = clock_now_ms();
        due = worktime_wait_until(&r->env->cfg->worktime, now, s->ms,
                                  s->work_days);
        if (due < 0) {
            snprintf(err, n, "a working-time wait: [worktime] has no working "
                             "day within ten years");
            return ST_ERROR;
        }
        delay = due - now;
    }
    return run_schedule_step(r, i + 1, delay, NULL, err, n) < 0 ? ST_ERROR
                                                                : ST_QUEUED;
}

/* Runs step i. */
static enum step_result step_one(struct run *r, size_t i, char *err, size_t n)
{
    const struct step *s = r->rule->steps[i].src;

    switch (s->kind) {
    case STEP_WAIT:
        return step_wait(r, i, s, err, n);
    case STEP_STOP:
        return step_stop(r, i, s);
    case STEP_TAG_ADD:
    case STEP_TAG_REMOVE:
        return step_tag(r, i, s);
    case STEP_ASSIGN:
        return run_assign(r, i, s);
    default:
        return run_message(r, i, s);
    }
}

enum run_status run_steps(struct run *r, size_t from, size_t *at, char *err,
                          size_t n)
{
    static const enum run_status of[] = {[ST_QUEUED] = RUN_WAITING,
                                         [ST_DONE] = RUN_DONE,
                                         [ST_RETRY] = RUN_RETRY,
                                         [ST_HELD] = RUN_HELD,
                                         [ST_ERROR] = RUN_ERROR};

    err[0] = 0;
    for (size_t i = from; i < r->rule->nsteps; i++) {
        enum step_result st = step_one(r, i, err, n);
        *at = i;
        /* ST_HELD: the run is the continuation's now, and its send used
         * the claim. Any other end of the step leaves it unused. */
        if (st != ST_HELD && r->pre.step == i)
            run_pre_release(r->rc, r->env->cfg, r->student_id, r->id, &r->pre);
        if (st == ST_NEXT)
            continue;
        if (st == ST_ERROR && !err[0])
            snprintf(err, n, "Redis: %s", r->rc->errstr);
        return of[st];
    }
    return RUN_DONE;
}

int run_abandon(struct rconn *rc, const struct config *cfg, const char *student,
                const char *rule, const char *id, int step, const char *why)
{
    char runs[KEY_MAX], actor[160];
    struct tl_entry e = TL_ENTRY_INIT;
    redisReply *rep;

    key_student(runs, sizeof runs, cfg->redis.prefix, student, "runs");
    if (id && run_is_current(rc, cfg->redis.prefix, student, rule, id) == 1) {
        if (!(rep = rconn_cmd(rc, "HDEL %s %s", runs, rule)))
            return -1;
        reply_free(rep);
    }
    snprintf(actor, sizeof actor, "rule:%s", rule);
    e.type = "skipped";
    e.rule = rule;
    e.step = step + 1;
    e.detail = why;
    e.actor = actor;
    return timeline_append(rc, cfg->redis.prefix, student,
                           cfg->redis.timeline_maxlen, &e);
}
