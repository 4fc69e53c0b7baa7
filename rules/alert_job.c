/*
 * alert_job.c - the queue job that sends one batch of an alert group as
 * one message (see alert.h): freeze the batch, leave out the leads
 * followed up since their run began, render, send at most once, and
 * write each lead's `alerted` entry. The message itself is
 * alert_message.c's. Outside the staff window ([delivery]
 * quiet_hours_staff, rules/policy.h) the job waits in the queue until it
 * opens, as a paused one does, and its group keeps gathering leads.
 *
 * The batch's send record (slm:alert:{G}:send:B) says what happened to
 * it, as a step's record does (rules/send.c):
 *
 *   (none)             send
 *   pending            an attempt left with no outcome written: send
 *                      again only when the channel drops duplicates
 *                      (on_unknown = retry), else `unknown` for each lead
 *   failed transient   send again
 *   sent N ID          it went out: write the leads' entries (again,
 *                      after a crash between the two) and settle
 *   unknown, failed permanent, empty   settle
 */
#include "rules/alert.h"
#include "rules/alert_int.h"
#include "rules/leads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/pause.h"
#include "core/reply.h"
#include "core/student_store.h"
#include "core/timeline.h"
#include "rules/policy.h"
#include "rules/recipient.h"

static void leads_free(struct alert_send *as)
{
    for (size_t i = 0; i < as->n; i++) {
        free(as->v[i].id);
        free(as->v[i].rule);
        student_free(as->v[i].st);
    }
    free(as->v);
    as->v = NULL;
    as->n = 0;
}

static void alert_send_free(struct alert_send *as)
{
    leads_free(as);
    free(as);
}

/* --- the batch's leads ------------------------------------------------------- */

/* Reads a lead's run from its info JSON. */
static int lead_info(struct lead *l, const char *json)
{
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    const char *rule = NULL;
    json_int_t step = 0, started = 0;
    int ok = o && json_unpack(o, "{s:s, s:I, s:I}", "rule", &rule, "step",
                              &step, "started", &started) == 0;

    if (ok && !(l->rule = strdup(rule)))
        ok = 0;
    l->step = (long)step;
    l->started = started;
    json_decref(o);
    return ok ? 0 : -1;
}

/* Loads the batch's leads (most overdue first) with their runs. 0 or
 * -1. */
static int load_batch(struct alert_send *as, struct rconn *rc)
{
    char batch[KEY_MAX], binfo[KEY_MAX];
    redisReply *ids, *infos;
    size_t n, k = 0;

    alert_batch_key(&as->g, as->batch, "batch", batch, sizeof batch);
    alert_batch_key(&as->g, as->batch, "info", binfo, sizeof binfo);
    if (!(ids = rconn_cmd(rc, "ZRANGE %s 0 -1 WITHSCORES", batch)))
        return -1;
    n = ids->type == REDIS_REPLY_ARRAY ? ids->elements / 2 : 0;
    if (n == 0) {
        reply_free(ids);
        return 0;
    }
    as->v = calloc(n, sizeof *as->v);
    /* HMGET binfo id... */
    const char **argv = calloc(n + 2, sizeof *argv);
    if (!as->v || !argv) {
        free(argv);
        reply_free(ids);
        return -1;
    }
    argv[0] = "HMGET", argv[1] = binfo;
    for (size_t i = 0; i < n; i++)
        argv[i + 2] = ids->element[2 * i]->str;
    infos = rconn_cmdargv(rc, (int)n + 2, argv, NULL);
    free(argv);
    for (size_t i = 0; infos && infos->type == REDIS_REPLY_ARRAY && i < n;
         i++) {
        struct lead *l = &as->v[k];
        const redisReply *inf = infos->element[i];
        if (lead_info(l, inf->type == REDIS_REPLY_STRING ? inf->str : NULL) <
                0 ||
            !(l->id = strdup(ids->element[2 * i]->str))) {
            free(l->rule);
            memset(l, 0, sizeof *l);
            continue; /* no run: nothing to say about it */
        }
        l->deadline = atoll(ids->element[2 * i + 1]->str);
        k++;
    }
    as->n = k;
    reply_free(ids);
    if (!infos)
        return -1;
    reply_free(infos);
    return 0;
}

/* Loads the leads' students. 0 or -1. */
static int load_students(struct alert_send *as, struct rconn *rc)
{
    const char **idv = calloc(as->n + 1, sizeof *idv);
    struct student **out = calloc(as->n + 1, sizeof *out);
    int got = -1;

    if (idv && out) {
        for (size_t i = 0; i < as->n; i++)
            idv[i] = as->v[i].id;
        got = student_load_many(rc, as->cfg->redis.prefix, idv, as->n, out);
        for (size_t i = 0; got == 0 && i < as->n; i++)
            as->v[i].st = out[i];
    }
    free(idv);
    free(out);
    return got;
}

/* An entry on one lead's timeline, queued in rc's pipeline. */
static int lead_entry_cmd(const struct alert_send *as, struct rconn *rc,
                          const struct lead *l, const char *type,
                          const char *provider_id, const char *detail)
{
    struct tl_entry e = TL_ENTRY_INIT;
    char actor[160];

    snprintf(actor, sizeof actor, "rule:%s", l->rule);
    e.type = type;
    e.rule = l->rule;
    e.step = (int)l->step + 1; /* as a recruiter counts */
    e.channel = as->ch->name;
    e.template_name = as->tmpl;
    e.to = as->to[0] ? as->to : NULL;
    e.provider_id = provider_id && provider_id[0] ? provider_id : NULL;
    e.detail = detail;
    e.actor = actor;
    return timeline_append_cmd(rc, as->cfg->redis.prefix, l->id,
                               as->cfg->redis.timeline_maxlen, &e);
}

/* The same entry on every lead's timeline (one round trip). 0 or -1. */
static int leads_entry(const struct alert_send *as, struct rconn *rc,
                       const char *type, const char *provider_id,
                       const char *detail)
{
    int queued = 0;

    for (size_t i = 0; i < as->n; i++) {
        if (lead_entry_cmd(as, rc, &as->v[i], type, provider_id, detail) < 0)
            return -1;
        queued++;
    }
    return rconn_discard(rc, queued) < 0 ? -1 : 0;
}

/* Why lead l is left out of the alert, or NULL: the student is gone, it
 * was followed up since its run began (as `followed_up` counts, under
 * [leads] followup_by) or closed meanwhile, or alerted to this group
 * within repeat_interval (alerted_ms, -1: not). why has room for the
 * closed lead's reason. */
static const char *left_out(const struct lead *l, long long alerted_ms,
                            const struct config *cfg, char *why, size_t n)
{
    char closed[200];

    if (!l->st)
        return "the student is gone";
    if (leads_followup_ms(cfg, l->st) >= l->started)
        return "followed up before the alert went out: left out of it";
    if (leads_closed(cfg, l->st, closed, sizeof closed)) {
        snprintf(why, n, "the lead is closed: %s; left out of the alert",
                 closed);
        return why;
    }
    if (alerted_ms >= 0 &&
        alerted_ms > clock_now_ms() - cfg->alerts.repeat_interval_ms)
        return "alerted to the same recipient within repeat_interval: left "
               "out";
    return NULL;
}

/* When each lead was last alerted to the group (-1: never). The caller
 * frees the array. NULL on error. */
static long long *alerted_times(struct alert_send *as, struct rconn *rc)
{
    long long *t = calloc(as->n + 1, sizeof *t);
    const char **argv = calloc(as->n + 2, sizeof *argv);
    redisReply *rep = NULL;

    if (t && argv && as->n) {
        argv[0] = "ZMSCORE", argv[1] = as->g.alerted;
        for (size_t i = 0; i < as->n; i++)
            argv[i + 2] = as->v[i].id;
        rep = rconn_cmdargv(rc, (int)as->n + 2, argv, NULL);
    }
    free(argv);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != as->n) {
        if (rep)
            reply_free(rep);
        free(t);
        return NULL;
    }
    for (size_t i = 0; i < as->n; i++)
        t[i] = rep->element[i]->type == REDIS_REPLY_STRING
                   ? atoll(rep->element[i]->str)
                   : -1;
    reply_free(rep);
    return t;
}

/* Drops the leads left out (each with a `skipped` entry, written once:
 * by whoever removed it from the batch). 0 or -1. */
static int drop_left_out(struct alert_send *as, struct rconn *rc)
{
    long long *alerted = alerted_times(as, rc);
    char batch[KEY_MAX];
    size_t k = 0;

    if (!alerted)
        return -1;
    alert_batch_key(&as->g, as->batch, "batch", batch, sizeof batch);
    for (size_t i = 0; i < as->n; i++) {
        struct lead *l = &as->v[i];
        char closed[300];
        const char *why =
            left_out(l, alerted[i], as->cfg, closed, sizeof closed);
        redisReply *rep;
        if (!why) {
            as->v[k++] = *l;
            continue;
        }
        if (!(rep = rconn_cmd(rc, "ZREM %s %s", batch, l->id))) {
            free(alerted);
            return -1;
        }
        if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 1 && l->st &&
            lead_entry_cmd(as, rc, l, "skipped", NULL, why) == 0)
            rconn_discard(rc, 1);
        reply_free(rep);
        free(l->id);
        free(l->rule);
        student_free(l->st);
    }
    as->n = k;
    free(alerted);
    return 0;
}

/* --- the outcome -------------------------------------------------------------- */

static void count_alert(size_t leads)
{
    static const double buckets[] = {1, 2, 5, 10, 20, 50, 100, 200, 500};

    metric_inc(metric_counter("nudge_alerts_sent_total",
                              "Grouped alerts sent to staff", NULL));
    metric_observe(metric_histogram("nudge_alert_leads",
                                    "Leads in one grouped alert", NULL,
                                    buckets,
                                    sizeof buckets / sizeof buckets[0]),
                   (double)leads);
}

static int set_record(struct alert_send *as, struct rconn *rc,
                      const char *state)
{
    redisReply *rep = rconn_cmd(rc, "SET %s %s PX %lld", as->record, state,
                                (long long)alert_keys_ttl(as->cfg));

    if (!rep)
        return -1;
    reply_free(rep);
    return 0;
}

/* It went out: each lead's `alerted` entry, the repeat_interval marks,
 * and the next batch. 0 or -1. */
static int settle_sent(struct alert_send *as, struct rconn *rc,
                       const char *provider_id)
{
    char detail[300];
    int64_t now = clock_now_ms();
    int queued = 0;

    snprintf(detail, sizeof detail,
             "alert to staff %s (level %ld): %zu lead%s overdue", as->g.staff,
             as->g.level, as->n, as->n == 1 ? "" : "s");
    if (leads_entry(as, rc, "alerted", provider_id, detail) < 0)
        return -1;
    for (size_t i = 0; i < as->n; i++, queued++)
        if (rconn_append(rc, "ZADD %s %lld %s", as->g.alerted, (long long)now,
                         as->v[i].id) < 0)
            return -1;
    if (rconn_append(rc, "PEXPIRE %s %lld", as->g.alerted,
                     (long long)alert_keys_ttl(as->cfg)) < 0 ||
        rconn_discard(rc, queued + 1) < 0)
        return -1;
    return alert_finish(rc, as->cfg, &as->g, as->batch, 1);
}

/* A failure: each lead's entry (type failed or unknown) and the next
 * batch. 0 or -1. */
static int settle_failed(struct alert_send *as, struct rconn *rc,
                         const char *type, const char *why, int went)
{
    char detail[600];

    snprintf(detail, sizeof detail, "alert to staff %s (level %ld, %zu "
             "lead%s): %s", as->g.staff, as->g.level, as->n,
             as->n == 1 ? "" : "s", why);
    if (leads_entry(as, rc, type, NULL, detail) < 0)
        return -1;
    return alert_finish(rc, as->cfg, &as->g, as->batch, went);
}

/* The continuation: the channel has reported as->res. */
static enum job_result after_alert(struct queue_job *job, struct rconn *rc,
                                   void *arg, char *err, size_t n)
{
    struct alert_send *as = arg;
    const struct chan_result *res = &as->res;
    char state[200], why[400];
    enum job_result verdict = JOB_OK;
    int got;

    snprintf(why, sizeof why, "%s%s%s", res->code,
             res->code[0] ? ": " : "", res->error[0] ? res->error : "failed");
    if (res->status == CHAN_OK) {
        snprintf(state, sizeof state, "sent %s", res->provider_id);
        got = set_record(as, rc, state);
        if (got == 0 && (got = settle_sent(as, rc, res->provider_id)) == 0)
            count_alert(as->n);
    } else if (res->status == CHAN_UNKNOWN && !as->ch->retry_unknown) {
        strncat(why, "; not sent again (on_unknown = skip)",
                sizeof why - strlen(why) - 1);
        got = set_record(as, rc, "unknown");
        if (got == 0)
            got = settle_failed(as, rc, "unknown", why, 1);
    } else if (res->status == CHAN_PERMANENT ||
               job->attempt >= as->cfg->queue.max_attempts) {
        if (res->status != CHAN_PERMANENT)
            snprintf(why + strlen(why), sizeof why - strlen(why),
                     "; gave up after %d attempts", job->attempt);
        got = set_record(as, rc, "failed permanent");
        if (got == 0)
            got = settle_failed(as, rc, "failed", why, 0);
        snprintf(err, n, "alert %s batch %lld: %s", as->g.id, as->batch, why);
        verdict = JOB_DEAD;
    } else {
        /* "pending" lets a channel that drops duplicates have it again */
        got = set_record(as, rc, res->status == CHAN_UNKNOWN
                                     ? "pending"
                                     : "failed transient");
        job->retry_after_ms = res->retry_after_ms;
        snprintf(err, n, "alert %s batch %lld: %s; will retry", as->g.id,
                 as->batch, why);
        verdict = JOB_RETRY;
    }
    if (got < 0) {
        snprintf(err, n, "alert %s batch %lld: Redis: %s", as->g.id,
                 as->batch, rc->errstr);
        verdict = JOB_RETRY;
    }
    alert_send_free(as);
    return verdict;
}

static void on_alert_sent(void *arg, const struct chan_result *res)
{
    struct alert_send *as = arg;

    as->res = *res;
    dispatcher_resume(as->hold, after_alert, as);
}

/* Renders the batch for who and hands it to the channel, holding the job:
 * JOB_HELD (as is the continuation's), or JOB_RETRY (as is the
 * caller's). */
static enum job_result submit_batch(struct alert_send *as,
                                    const struct tmpl_set *tmpls,
                                    const struct staff *who,
                                    const struct queue_job *job,
                                    struct rconn *rc, char *err, size_t n)
{
    struct alert_msg am;
    struct chan_msg m = {0};
    enum job_result verdict = JOB_HELD;

    if (alert_msg_build(&am, as, tmpls, who, rc, &m) < 0) {
        snprintf(err, n, "alert %s: out of memory", as->g.id);
        verdict = JOB_RETRY;
    } else if (!(as->hold = dispatcher_hold(job))) {
        snprintf(err, n, "alert %s: cannot hold the job", as->g.id);
        verdict = JOB_RETRY;
    } else if (channel_submit(as->ch, &m, on_alert_sent, as) < 0) {
        /* the continuation settles it as a transient failure */
        struct chan_result closing = {0};
        chan_result_fail(&closing, CHAN_TRANSIENT, "closing",
                         "channel %s is closing: not sent", as->ch->name);
        on_alert_sent(as, &closing);
    }
    /* From here as is the continuation's (when held): the channel copied
     * the message. */
    alert_msg_free(&am);
    return verdict;
}

/* --- the job ------------------------------------------------------------------ */

/* What an earlier attempt's record leaves to do: 1 send (again), 0
 * settled here, -1 error. */
static int after_earlier(struct alert_send *as, struct rconn *rc,
                         const char *state)
{
    if (strncmp(state, "sent", 4) == 0) /* its entries may be missing */
        return settle_sent(as, rc, state[4] ? state + 5 : "") < 0 ? -1 : 0;
    if (strncmp(state, "failed transient", 16) == 0 ||
        (strcmp(state, "pending") == 0 && as->ch->retry_unknown))
        return set_record(as, rc, "pending") < 0 ? -1 : 1;
    if (strcmp(state, "pending") == 0) {
        if (set_record(as, rc, "unknown") < 0 ||
            settle_failed(as, rc, "unknown",
                          "an earlier attempt reached the channel and its "
                          "outcome was never recorded (nudged stopped?); not "
                          "sent again (on_unknown = skip)",
                          1) < 0)
            return -1;
        return 0;
    }
    /* unknown, failed permanent, empty: settled, perhaps not finished */
    return alert_finish(rc, as->cfg, &as->g, as->batch,
                        strcmp(state, "unknown") == 0) < 0
               ? -1
               : 0;
}

/* The group's template (the first escalation's). 0 or -1. */
static int read_template(struct alert_send *as, struct rconn *rc)
{
    redisReply *rep = rconn_cmd(rc, "HGET %s template", as->g.meta);

    if (!rep)
        return -1;
    snprintf(as->tmpl, sizeof as->tmpl, "%s",
             rep->type == REDIS_REPLY_STRING ? rep->str : "");
    reply_free(rep);
    return 0;
}

/* The recipient, loaded afresh: 1 with *who, 0 the batch failed for want
 * of them (settled), -1 error. */
static int load_recipient(struct alert_send *as, struct rconn *rc,
                          struct staff **who)
{
    const char *contact;
    char why[300];
    int got = staff_load(rc, as->cfg->redis.prefix, as->g.staff, who);

    if (got < 0)
        return -1;
    if (got > 0 && (contact = staff_contact(*who, as->ch->as))) {
        snprintf(as->to, sizeof as->to, "%s", contact);
        return 1;
    }
    snprintf(why, sizeof why,
             got ? "staff %s has no %s contact" : "staff %s is not in Redis",
             as->g.staff, as->ch->as);
    log_warnx("alert %s: %s: not sent", as->g.id, why);
    staff_free(*who);
    *who = NULL;
    if (set_record(as, rc, "failed permanent") < 0 ||
        settle_failed(as, rc, "failed", why, 0) < 0)
        return -1;
    return 0;
}

/* From the claimed record on: 1 to send, 0 settled, -1 error. */
static int prepare(struct alert_send *as, struct rconn *rc)
{
    char state[200] = "";
    int got;

    if (read_template(as, rc) < 0 || load_batch(as, rc) < 0 ||
        (got = run_record_claim(rc, as->record, alert_keys_ttl(as->cfg), -1, state,
                            sizeof state)) < 0)
        return -1;
    if (got == 0 && (got = after_earlier(as, rc, state)) <= 0)
        return got;
    if (load_students(as, rc) < 0)
        return -1;
    /* An attempt that may have reached the provider is sent again as it
     * was, so that the provider can drop the repeat. */
    if (strcmp(state, "pending") != 0 && drop_left_out(as, rc) < 0)
        return -1;
    if (as->n > 0)
        return 1;
    /* everyone followed up in time: nothing to say */
    return set_record(as, rc, "empty") < 0 ||
                   alert_finish(rc, as->cfg, &as->g, as->batch, 0) < 0
               ? -1
               : 0;
}

/* Outside the staff window (policy_staff_hold()): the group's keys are
 * kept at least until the window opens and their usual time after it (a
 * week-long holiday outlasts alert_keys_ttl()), and the leads that come
 * meanwhile join this batch. Returns the wait in ms, 0 to send now. */
static int64_t staff_window_wait(struct alert_send *as, struct rconn *rc)
{
    char what[300], batch[KEY_MAX], binfo[KEY_MAX];
    const char *keys[5];
    int64_t wait;
    redisReply *rep;

    snprintf(what, sizeof what, "alert %s batch %lld", as->g.id, as->batch);
    if ((wait = policy_staff_hold(as->cfg, clock_now_ms(), what)) <= 0)
        return 0;
    alert_batch_key(&as->g, as->batch, "batch", batch, sizeof batch);
    alert_batch_key(&as->g, as->batch, "info", binfo, sizeof binfo);
    keys[0] = as->g.meta, keys[1] = as->g.leads, keys[2] = as->g.info;
    keys[3] = batch, keys[4] = binfo;
    for (size_t i = 0; i < 5; i++)
        if ((rep = rconn_cmd(rc, "PEXPIRE %s %lld GT", keys[i],
                             (long long)(wait + alert_keys_ttl(as->cfg)))))
            reply_free(rep);
    return wait;
}

enum job_result alert_job(const struct run_env *env,
                          const struct queue_job *job, struct rconn *rc,
                          const json_t *o, char *err, size_t n)
{
    const char *staff, *channel;
    json_int_t level, batch;
    struct alert_send *as;
    struct staff *who = NULL;
    enum job_result verdict = JOB_OK;
    int64_t wait;
    int got;

    if (json_unpack((json_t *)o, "{s:s, s:I, s:s, s:I}", "staff", &staff,
                    "level", &level, "channel", &channel, "batch",
                    &batch) < 0 ||
        !key_valid_id(staff)) {
        snprintf(err, n, "payload is not an alert batch");
        return JOB_DEAD;
    }
    if (!(as = calloc(1, sizeof *as))) {
        snprintf(err, n, "out of memory");
        return JOB_RETRY;
    }
    as->cfg = env->cfg;
    as->batch = batch;
    if (!(as->ch = channels_find(env->chans, channel)) ||
        alert_group_init(&as->g, env->cfg->redis.prefix, staff, (long)level,
                         channel) < 0) {
        snprintf(err, n, "alert of staff %s: no channel %s", staff, channel);
        alert_send_free(as);
        return JOB_DEAD;
    }
    if ((got = pause_blocked(rc, env->cfg->redis.prefix, channel, NULL, err,
                             n)) != 0) { /* nudgectl pause: wait */
        alert_send_free(as);
        return got < 0 ? JOB_RETRY : JOB_LATER;
    }
    if ((wait = staff_window_wait(as, rc)) > 0) { /* staff are off work */
        dispatcher_later(job, wait);
        alert_send_free(as);
        return JOB_LATER;
    }
    alert_batch_key(&as->g, as->batch, "send", as->record, sizeof as->record);
    as->asof = alert_freeze(rc, env->cfg, &as->g, as->batch);
    got = as->asof > 0 ? 1 : (int)as->asof;
    if (got > 0)
        got = prepare(as, rc);
    if (got > 0)
        got = load_recipient(as, rc, &who);
    if (got > 0) {
        verdict = submit_batch(as, env->tmpls, who, job, rc, err, n);
        staff_free(who);
        if (verdict == JOB_HELD)
            return verdict; /* as is the continuation's */
        set_record(as, rc, "failed transient"); /* nothing left */
    } else if (got < 0) {
        snprintf(err, n, "alert %s batch %lld: Redis: %s", as->g.id,
                 as->batch, rc->errstr);
        verdict = JOB_RETRY;
    }
    alert_send_free(as);
    return verdict;
}
