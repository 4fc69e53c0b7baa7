/*
 * send.c - the message steps of a run (send, notify owner, escalate): who
 * they reach, when they may go, and the asynchronous send that makes a
 * message go out at most once.
 *
 * A message step runs only inside a queue job. It renders the message,
 * claims the send's record in Redis (slm:student:{ID}:send:RUN:STEP, SET
 * NX "pending"), holds its job and hands the message to the channel; the
 * channel's report comes back through the engine's continuation to
 * run_after_send(), which writes the outcome and the timeline entry in one
 * MULTI and carries the run on. The record is what keeps a message from
 * going twice: a retried or replayed step first reads it:
 *
 *   (none)            send
 *   pending           an earlier attempt left and its outcome was never
 *                     written (nudged killed): send again only when the
 *                     channel's provider drops duplicates (on_unknown =
 *                     retry), else `unknown` on the timeline
 *   failed transient  send again
 *   fell back         the step went on to the fallback channel: the
 *                     fallback's own record (...:STEP:fb) decides
 *   sent, unknown, failed permanent    nothing: the step is done
 *
 * Steps are counted from 1 on the timeline, in job ids, logs and the
 * idempotency key given to the provider (RUN:N, + ":fb" for the
 * fallback, the same on every attempt); the records' keys hold the step's
 * index (from 0), an internal key that must not change across upgrades.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/keys.h"
#include "core/receipt.h"
#include "core/reply.h"
#include "core/tz.h"
#include "core/log.h"
#include "core/pause.h"
#include "rules/alert.h"
#include "rules/claims.h"
#include "rules/delivery.h"
#include "rules/recipient.h"
#include "rules/report.h"
#include "rules/policy.h"
#include "rules/run.h"
#include "rules/variant.h"

#define SEND_RECORD_TTL_MS RUN_SEND_RECORD_TTL_MS /* run.h */

static const char *sent_type(const struct step *s)
{
    return s->kind == STEP_SEND     ? "sent"
           : s->kind == STEP_NOTIFY ? "notified"
                                    : "escalated";
}

/* --- the send's record ------------------------------------------------------ */

enum claim {
    CLAIM_SEND,      /* nothing sent yet, or a resend is safe */
    CLAIM_DONE,      /* the step ended before: nothing to do */
    CLAIM_UNKNOWN,   /* an earlier attempt's outcome is unknown and the
                        channel cannot drop a duplicate */
    CLAIM_FELL_BACK, /* an earlier attempt went on to the fallback */
};

void run_send_record_key(const char *prefix, const char *student,
                         const char *run, size_t i, int fallback, char *buf,
                         size_t n)
{
    char suffix[160];

    /* the step's index (from 0): an internal key, kept as it was so
     * that a record written before an upgrade is still found (a step
     * in flight must not be sent twice) */
    snprintf(suffix, sizeof suffix, "send:%s:%zu%s", run, i,
             fallback ? ":fb" : "");
    key_student(buf, n, prefix, student, suffix);
}

static void send_record_key(const struct run *r, size_t i, int fallback,
                            char *buf, size_t n)
{
    run_send_record_key(r->env->cfg->redis.prefix, r->student_id, r->id, i,
                        fallback, buf, n);
}

int run_step_sends(const struct crule *rule, size_t i)
{
    enum step_kind k;

    if (i >= rule->nsteps)
        return 0;
    k = rule->steps[i].src->kind;
    return k == STEP_SEND || k == STEP_NOTIFY || k == STEP_ESCALATE;
}

/* What an existing record says about sending again. */
static enum claim claim_of(const char *state, const struct channel *ch)
{
    if (strncmp(state, "failed transient", 16) == 0)
        return CLAIM_SEND;
    if (strncmp(state, "pending", 7) == 0)
        return ch->retry_unknown ? CLAIM_SEND : CLAIM_UNKNOWN;
    if (strcmp(state, "fell back") == 0)
        return CLAIM_FELL_BACK;
    return CLAIM_DONE; /* sent, unknown, failed permanent */
}

int run_record_claim(struct rconn *rc, const char *key, int64_t ttl_ms,
                     int created, char *state, size_t n)
{
    redisReply *rep;

    if (created < 0) {
        if (!(rep = rconn_cmd(rc, "SET %s pending NX PX %lld", key,
                              (long long)ttl_ms)))
            return -1;
        created = rep->type == REDIS_REPLY_STATUS;
        reply_free(rep);
    }
    if (created)
        return 1;
    if (!(rep = rconn_cmd(rc, "GET %s", key)))
        return -1;
    snprintf(state, n, "%s", rep->type == REDIS_REPLY_STRING ? rep->str : "");
    reply_free(rep);
    return 0;
}

/* Takes the step's record at key (run_record_claim()), with the claim
 * the job's first read made when it is this step's. */
static int record_take(struct run *r, const char *key, int use_pre,
                       char *state, size_t n)
{
    int created = -1;

    if (use_pre && r->pre.record >= 0 && r->pre.step == r->send.step) {
        created = r->pre.record; /* taken with the job's first read */
        r->pre.record = -1;
    }
    return run_record_claim(r->rc, key, SEND_RECORD_TTL_MS, created, state,
                            n);
}

static int record_pending(struct run *r)
{
    redisReply *rep = rconn_cmd(r->rc, "SET %s pending PX %lld", r->send.key,
                                (long long)SEND_RECORD_TTL_MS);

    if (!rep)
        return -1;
    reply_free(rep);
    return 0;
}

static int drop_record(struct run *r)
{
    redisReply *rep = rconn_cmd(r->rc, "DEL %s", r->send.key);

    if (!rep)
        return -1;
    reply_free(rep);
    return 0;
}

/* Writes the record's new state and the timeline entry in one MULTI, so
 * that a step is never on the timeline without its record (or the other
 * way round); with the student's last_touch_at for a message sent to
 * them, the run's end when this was its last step, and what a delivery
 * receipt will be looked up by (core/receipt.h): one round trip for all.
 * 0 or -1. */
static int write_outcome(struct run *r, const char *state,
                         const struct tl_entry *e, int touch, int last,
                         int receipt)
{
    const struct config *cfg = r->env->cfg;
    char skey[KEY_MAX];
    int n = 3, errors; /* MULTI, SET, XADD */
    int counted = 0;   /* the report's counters, after EXEC (report.h) */

    key_student(skey, sizeof skey, cfg->redis.prefix, r->student_id, NULL);
    run_log_entry(r, e);
    if (rconn_append(r->rc, "MULTI") < 0 ||
        rconn_append(r->rc, "SET %s %s PX %lld", r->send.key, state,
                     (long long)SEND_RECORD_TTL_MS) < 0 ||
        timeline_append_cmd(r->rc, cfg->redis.prefix, r->student_id,
                            cfg->redis.timeline_maxlen, e) < 0)
        return -1;
    if (touch) {
        if (rconn_append(r->rc, "HSET %s last_touch_at %lld", skey,
                         (long long)(clock_now_ms() / 1000)) < 0)
            return -1;
        n++;
    }
    if (last) {
        int k = run_end_cmd(r);
        if (k < 0)
            return -1;
        n += k;
    }
    if (receipt && r->send.res.provider_id[0] &&
        (r->send.ch->drv->caps & CHAN_CAP_RECEIPTS) &&
        receipt_note_cmd(r->rc, cfg->redis.prefix, r->send.res.provider_id,
                         r->student_id, r->send.ch->name, r->rule->name,
                         e->step, e->template_name) == 0)
        n++; /* an id no receipt can name is simply not noted */
    if (rconn_append(r->rc, "EXEC") < 0 ||
        (touch && (counted = report_run_reached_cmd(r, r->send.step)) < 0))
        return -1;
    errors = rconn_exec_errors(r->rc, n);
    if (counted > 0 && rconn_discard(r->rc, counted) < 0)
        return -1;
    if (errors != 0) {
        if (errors > 0)
            snprintf(r->rc->errstr, sizeof r->rc->errstr,
                     "writing the outcome of a send failed");
        return -1;
    }
    r->ended |= last;
    return 0;
}

/* The step's entry with the send's channel, recipient and provider. */
static void send_entry(struct run *r, const char *type, const char *detail,
                       struct tl_entry *e, char *actor, size_t n)
{
    const struct step *s = r->rule->steps[r->send.step].src;

    run_entry(r, r->send.step, type, s, e, actor, n);
    e->channel = r->send.ch->name;
    e->to = r->send.to[0] ? r->send.to : NULL;
    e->provider_id = r->send.res.provider_id[0] ? r->send.res.provider_id
                                                : NULL;
    e->detail = detail;
}

/* --- sending ---------------------------------------------------------------- */

/* The channel's report, on its own thread: hand it to a worker. */
static void on_sent(void *arg, const struct chan_result *res)
{
    struct run *r = arg;

    r->send.res = *res;
    dispatcher_resume(r->send.hold, r->env->after_send, r);
}

/* WeCom reaches a member by wecom_userid, an external contact by
 * wecom_external_userid through the owner's account. */
static void wecom_address(const struct run *r, const struct step *s,
                          const struct recipient *who, struct chan_msg *m)
{
    if (s->kind != STEP_SEND || student_get(r->st, "wecom_userid")) {
        m->to_kind = "member";
        return;
    }
    m->to_kind = "external";
    m->sender = who->owner ? staff_get(who->owner, "wecom_userid") : NULL;
}

/* An earlier attempt left with no outcome written, and the channel cannot
 * drop a duplicate: say so, and never send it again. */
static enum step_result record_lost_attempt(struct run *r)
{
    struct tl_entry e;
    char actor[160], why[300];

    snprintf(why, sizeof why,
             "an earlier attempt reached channel %s and its outcome was "
             "never recorded (nudged stopped?); not sent again, since the "
             "channel cannot drop duplicates (on_unknown = skip)",
             r->send.ch->name);
    send_entry(r, "unknown", why, &e, actor, sizeof actor);
    if (write_outcome(r, "unknown", &e, 0, 0, 0) < 0)
        return ST_ERROR;
    run_count("unknown");
    return ST_NEXT;
}

static enum step_result send_via(struct run *r, size_t i, const struct step *s,
                                 struct channel *ch, int fallback);

/* The step's second attempt, on the channel's fallback. */
static enum step_result send_fallback(struct run *r, size_t i,
                                      const struct step *s,
                                      const struct channel *ch)
{
    struct channel *fb = channels_find(r->env->chans, ch->fallback);

    return fb ? send_via(r, i, s, fb, 1) : ST_NEXT;
}

/* The policy says not yet (quiet hours in the student's zone, staff
 * hours in the school's, a blackout date, a full frequency cap): the
 * step is queued again for d->until, and the timeline says so
 * (`deferred`, with the local time it goes). */
static enum step_result defer_step(struct run *r, size_t i,
                                   const struct step *s,
                                   const struct policy_decision *d)
{
    char suffix[64], why[400], when[32];

    snprintf(suffix, sizeof suffix, ":%s:%lld", d->reason,
             (long long)d->until);
    if (run_schedule_step(r, i, d->until - clock_now_ms(), suffix, why,
                          sizeof why) < 0)
        return ST_ERROR;
    snprintf(why, sizeof why, "%s: until %s", d->why,
             policy_until_text(d, when, sizeof when));
    run_record(r, i, "deferred", s, NULL, NULL, why);
    run_count("deferred");
    return ST_QUEUED;
}

/* Claims the record and hands the rendered message to the channel. A
 * step that went to the fallback before (its record says "fell back")
 * carries on there: the fallback's own record decides, so the main
 * channel is never tried again once the fallback has it. */
static enum step_result submit_send(struct run *r, size_t i,
                                    const struct step *s, struct chan_msg *m)
{
    struct run_send *sd = &r->send;
    struct policy_decision d;
    enum claims_result claimed;
    char state[160];
    int got = record_take(r, sd->key, !sd->fallback, state, sizeof state);

    if (got < 0)
        return ST_ERROR;
    if (got == 0) {
        switch (claim_of(state, sd->ch)) {
        case CLAIM_DONE:
            return ST_NEXT;
        case CLAIM_UNKNOWN:
            return record_lost_attempt(r);
        case CLAIM_FELL_BACK: /* a retry of the step: the fallback's turn */
            return send_fallback(r, i, s, sd->ch);
        default:
            if (record_pending(r) < 0)
                return ST_ERROR;
        }
    }
    /* a failed attempt gave its claims back: take them again */
    if (s->kind == STEP_SEND &&
        (claimed = claims_take(r, i, s, &d)) != CLAIMS_TAKEN) {
        /* the record goes: nothing was sent */
        if (claimed == CLAIMS_ERROR || drop_record(r) < 0)
            return ST_ERROR;
        return claimed == CLAIMS_DEFERRED ? defer_step(r, i, s, &d) : ST_NEXT;
    }
    if (!(sd->hold = dispatcher_hold(r->job)))
        return ST_RETRY;
    /* From here the run belongs to the continuation: on_sent() may run
     * on another thread before channel_submit() even returns. */
    if (channel_submit(sd->ch, m, on_sent, r) < 0) {
        struct chan_result closing = {0};
        chan_result_fail(&closing, CHAN_TRANSIENT, "closing",
                         "channel %s is closing: not sent", sd->ch->name);
        on_sent(r, &closing);
    }
    return ST_HELD;
}

int run_reach(struct run *r, size_t i, const struct step *s,
              const struct channel *ch, struct recipient *who)
{
    char why[256];
    int got;

    memset(who, 0, sizeof *who);
    if (!tmpl_find(r->env->tmpls, s->tmpl, ch->as)) {
        snprintf(why, sizeof why, "template %s has no %s part", s->tmpl,
                 ch->as);
        run_record(r, i, "failed", s, NULL, NULL, why);
        run_count("failed");
        return 0;
    }
    got = recipient_resolve(r->rc, r->env->cfg->redis.prefix, s, r->st, ch->as,
                            who, why, sizeof why);
    if (got == 0) {
        run_record(r, i, "skipped", s, NULL, NULL, why);
        run_count("skipped");
    }
    if (got <= 0)
        recipient_clear(who);
    return got < 0 ? -1 : got;
}

int run_step_to_staff(const struct step *s)
{
    return s->kind == STEP_NOTIFY || s->kind == STEP_ESCALATE;
}

enum msg_class run_step_class(const struct step *s,
                              const struct tmpl_part *part)
{
    return tmpl_send_class(part, run_step_to_staff(s));
}

/* Renders the step's template part for ch and sends it. */
static enum step_result send_via(struct run *r, size_t i, const struct step *s,
                                 struct channel *ch, int fallback)
{
    const struct tmpl_part *part = tmpl_find(r->env->tmpls, s->tmpl, ch->as);
    struct recipient who;
    struct tmpl_ctx ctx = {.student = r->st, .cfg = r->env->cfg};
    struct chan_msg m = {0};
    struct tmpl_out out;
    char idem[160];
    enum step_result st;
    int got = run_reach(r, i, s, ch, &who);

    if (got <= 0)
        return got < 0 ? ST_ERROR : ST_NEXT;
    snprintf(idem, sizeof idem, "%s:%zu%s", r->id, i + 1, fallback ? ":fb" : "");
    ctx.owner = who.owner;
    ctx.supervisor = who.supervisor;
    ctx.to = who.to;
    ctx.from = ch->from;
    ctx.key = idem;
    ctx.to_staff = run_step_to_staff(s);
    tmpl_out_init(&out);
    switch (tmpl_render(part, &ctx, &out)) {
    case TMPL_OK:
        memset(&r->send, 0, sizeof r->send);
        r->send.step = i;
        r->send.ch = ch;
        r->send.fallback = fallback;
        snprintf(r->send.to, sizeof r->send.to, "%s",
                 out.msg.to ? out.msg.to : "");
        if (s->kind == STEP_NOTIFY) /* escalations go to alert.c */
            snprintf(r->send.reached, sizeof r->send.reached, "owner %s",
                     who.target->id);
        send_record_key(r, i, fallback, r->send.key, sizeof r->send.key);
        tmpl_msg_to_chan(&out.msg, &m);
        m.student = r->student_id;
        m.rule = r->rule->name;
        m.template_name = s->tmpl;
        m.step = (int)i + 1; /* as the timeline counts */
        m.idempotency_key = idem;
        if (strcmp(ch->as, "wecom") == 0)
            wecom_address(r, s, &who, &m);
        st = submit_send(r, i, s, &m);
        break;
    case TMPL_MISSING:
        run_record(r, i, "skipped", s, NULL, NULL, out.err);
        run_count("skipped");
        st = ST_NEXT;
        break;
    default:
        run_record(r, i, "failed", s, NULL, NULL, out.err);
        run_count("failed");
        st = ST_NEXT;
        break;
    }
    tmpl_out_free(&out);
    recipient_clear(&who);
    return st;
}

/* `nudgectl pause` (core/pause.h): the step waits in the queue as a job
 * due at the next whole second, and looks again then. The job's id names
 * that second, so a replay of this job within it finds the same job; the
 * send record keeps the message to one whatever happens. */
static enum step_result hold_paused(struct run *r, size_t i)
{
    int64_t now = clock_now_ms(), at = (now / 1000 + 1) * 1000;
    char suffix[40], why[256];

    snprintf(suffix, sizeof suffix, ":paused:%lld", (long long)at);
    return run_schedule_step(r, i, at - now, suffix, why, sizeof why) < 0
               ? ST_ERROR
               : ST_QUEUED;
}

enum step_result run_message(struct run *r, size_t i, const struct step *s)
{
    struct channel *ch = channels_find(r->env->chans, s->channel);
    struct policy_decision d;
    struct step drawn;
    enum msg_class cls;
    char why[256];
    int paused;

    /* A variant send is, from here on, a send of the student's variant
     * (rules/variant.h): dedup, caps and policy see that template. */
    s = variant_step(s, r->rule->name, i, r->student_id, &drawn);
    if (!ch) {
        run_record(r, i, "failed", s, NULL, NULL, "no such channel");
        return ST_NEXT;
    }
    if (!r->job) /* straight from an event: never wait on a provider here */
        return run_schedule_step(r, i, 0, NULL, why, sizeof why) < 0
                   ? ST_ERROR
                   : ST_QUEUED;
    if ((paused = pause_blocked(r->rc, r->env->cfg->redis.prefix, ch->name,
                                r->rule->name, why, sizeof why)) != 0)
        return paused < 0 ? ST_ERROR : hold_paused(r, i);
    cls = run_step_class(s, tmpl_find(r->env->tmpls, s->tmpl, ch->as));
    policy_check(r->env->cfg, s, cls, ch->as, r->st, clock_now_ms(), &d);
    policy_count(d.verdict, d.reason, cls);
    switch (d.verdict) {
    case POLICY_DEFER:
        return defer_step(r, i, s, &d);
    case POLICY_SKIP:
    case POLICY_END:
        run_record(r, i, "skipped", s, NULL, NULL, d.why);
        run_count("skipped");
        return d.verdict == POLICY_END ? ST_DONE : ST_NEXT;
    case POLICY_SEND:
        break;
    }
    if (s->kind == STEP_ESCALATE) /* grouped into alerts: rules/alert.h */
        return alert_escalate(r, i, s, ch);
    return send_via(r, i, s, ch, 0);
}

/* --- the outcome ------------------------------------------------------------- */

/* A failure the fallback channel may do better on: the account's or the
 * gateway's, or the last of the retries. */
static int wants_fallback(const struct run *r, const struct queue_job *job)
{
    const struct run_send *sd = &r->send;

    if (sd->fallback || !sd->ch->fallback)
        return 0;
    if (sd->res.account && sd->res.status != CHAN_OK)
        return 1;
    return sd->res.status == CHAN_TRANSIENT &&
           job->attempt >= r->env->cfg->queue.max_attempts;
}

/* "CODE: error; then": the provider's code first, where an integrator
 * finds it, but not twice when the driver's words begin with it ("HTTP
 * 500: ..."). */
static void failure_detail(const struct run_send *sd, const char *then,
                           char *buf, size_t n)
{
    const char *code = sd->res.code, *error = sd->res.error;
    int named = !code[0] || strncmp(error, code, strlen(code)) == 0;

    snprintf(buf, n, "%s%s%s%s", named ? "" : code, named ? "" : ": ",
             error[0] ? error : "failed", then);
}

enum run_status run_after_send(struct run *r, struct queue_job *job,
                               size_t *at, char *err, size_t n)
{
    struct run_send *sd = &r->send;
    struct step drawn;
    const struct step *s =
        variant_step(r->rule->steps[sd->step].src, r->rule->name, sd->step,
                     r->student_id, &drawn);
    size_t i = sd->step;
    struct tl_entry e;
    char actor[160], detail[600], then[200], state[200];
    enum chan_status status = sd->res.status;
    int fallback, retry, last;

    *at = i;
    r->job = job;
    if (status == CHAN_OK) {
        snprintf(state, sizeof state, "sent %s", sd->res.provider_id);
        send_entry(r, sent_type(s), sd->reached[0] ? sd->reached : NULL, &e,
                   actor, sizeof actor);
        if (write_outcome(r, state, &e, s->kind == STEP_SEND,
                          i + 1 == r->rule->nsteps, 1) < 0)
            return RUN_ERROR;
        run_count(sent_type(s));
        return run_steps(r, i + 1, at, err, n);
    }
    claims_give_caps_back(r);
    if (status == CHAN_UNKNOWN && !sd->ch->retry_unknown) {
        failure_detail(sd, ": the provider may or may not have it; not "
                           "sent again (on_unknown = skip)",
                       detail, sizeof detail);
        send_entry(r, "unknown", detail, &e, actor, sizeof actor);
        if (write_outcome(r, "unknown", &e, 0, 0, 0) < 0)
            return RUN_ERROR;
        run_count("unknown");
        return run_steps(r, i + 1, at, err, n);
    }
    fallback = wants_fallback(r, job);
    retry = !fallback && status != CHAN_PERMANENT;
    /* The queue makes the last attempt's job a dead letter (which
     * `nudgectl queue retry` can send again: the record allows it). */
    last = retry && job->attempt >= r->env->cfg->queue.max_attempts;
    /* A retry is the same step: it keeps the claim and finds it its own.
     * The fallback sends another part of the template: its own claim. */
    if (fallback || !retry || last)
        claims_give_dedup_back(r);
    if (fallback)
        snprintf(then, sizeof then, "; falls back to channel %s",
                 sd->ch->fallback);
    else if (last)
        snprintf(then, sizeof then, "; gave up after %d attempts",
                 job->attempt);
    else
        snprintf(then, sizeof then, "%s", retry ? "; will retry" : "");
    failure_detail(sd, then, detail, sizeof detail);
    send_entry(r, "failed", detail, &e, actor, sizeof actor);
    /* "failed transient" lets the retry send again; an unknown outcome on
     * a channel that drops duplicates keeps "pending", which does too;
     * "fell back" sends a retry (the fallback failed for now, or nudged
     * stopped before its send) to the fallback. */
    if (write_outcome(r,
                      fallback                   ? "fell back"
                      : status == CHAN_PERMANENT ? "failed permanent"
                      : status == CHAN_UNKNOWN   ? "pending"
                                                 : "failed transient",
                      &e, 0, 0, 0) < 0)
        return RUN_ERROR;
    run_count(fallback ? "fallback" : retry && !last ? "retried" : "failed");
    if (fallback) {
        enum step_result st = send_fallback(r, i, s, sd->ch);
        if (st == ST_HELD)
            return RUN_HELD;
        if (st == ST_ERROR)
            return RUN_ERROR;
        return st == ST_RETRY ? RUN_RETRY : run_steps(r, i + 1, at, err, n);
    }
    if (retry) {
        job->retry_after_ms = sd->res.retry_after_ms;
        snprintf(err, n, "step %zu: %s", i + 1, detail);
        return RUN_RETRY;
    }
    return run_steps(r, i + 1, at, err, n);
}
