/*
 * digest_send.c - one supervisor's daily digest: the message (WeCom
 * markdown, an email with text and HTML parts, plain text elsewhere) and
 * its send, at most once: its record slm:digest:{STAFF}:DAY is claimed
 * before the send (rules/run.h run_record_claim(), the states of a
 * step's record), the job held while the channel works, and the outcome
 * written by the continuation. Outside the staff window ([delivery]
 * quiet_hours_staff, rules/policy.h) the job waits in the queue until it
 * opens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/reply.h"
#include "core/student_store.h"
#include "rules/alert_int.h"
#include "rules/alert_render.h"
#include "rules/digest_int.h"
#include "rules/policy.h"
#include "rules/recipient.h"
#include "templates/escape.h"
#include "templates/mime.h"

#define RECORD_TTL_MS (3 * 86400LL * 1000)

struct digest_send {
    const struct config *cfg;
    struct channel *ch;
    char record[KEY_MAX];
    char staff[129];
    struct job_hold *hold;
    struct chan_result res;
};

/* --- the message --------------------------------------------------------------- */

static void add_esc(struct tbuf *b, enum tmpl_esc esc, const char *s)
{
    tmpl_esc_append(b, esc, s, strlen(s));
}

static void add_count(struct tbuf *b, const char *sep, const char *what,
                      json_int_t n)
{
    char line[96];

    snprintf(line, sizeof line, "%s%s: %lld", sep, what, (long long)n);
    tbuf_adds(b, line);
}

/* The digest's lines, escaped for esc, separated by sep. */
static void digest_text(struct tbuf *b, enum tmpl_esc esc, const char *sep,
                        const char *bold, const json_t *o, const char *name,
                        const char *day)
{
    const json_t *slow = json_object_get(o, "slow"), *v;
    char line[160], avg[32];
    size_t i;

    snprintf(line, sizeof line, "%sLeads digest %s%s: the team of ", bold,
             day, bold);
    tbuf_adds(b, line);
    add_esc(b, esc, name);
    tbuf_adds(b, ", last 24 hours");
    add_count(b, sep, "New leads", json_integer_value(json_object_get(o, "new")));
    add_count(b, sep, "Followed up in time",
              json_integer_value(json_object_get(o, "in_time")));
    add_count(b, sep, "Overdue (escalated)",
              json_integer_value(json_object_get(o, "overdue")));
    if (json_array_size(slow) == 0)
        return;
    tbuf_adds(b, sep);
    tbuf_adds(b, "Slowest recruiters:");
    json_array_foreach(slow, i, v)
    {
        json_int_t open = json_integer_value(json_object_get(v, "open"));
        json_int_t ms = json_integer_value(json_object_get(v, "avg_ms"));
        snprintf(line, sizeof line, "%s%zu. ", sep, i + 1);
        tbuf_adds(b, line);
        add_esc(b, esc, json_string_value(json_object_get(v, "name")));
        snprintf(line, sizeof line, " · %lld not followed up", (long long)open);
        tbuf_adds(b, line);
        if (ms > 0) {
            alert_format_overdue(ms, avg, sizeof avg);
            snprintf(line, sizeof line, " · %s to first followup on average",
                     avg);
            tbuf_adds(b, line);
        }
    }
}

struct digest_bodies {
    struct tbuf text, html, mime, scratch;
    char subject[96];
};

static void compose(const struct digest_send *ds, const json_t *o,
                    const struct staff *who, const char *to, const char *day,
                    const char *idem, struct digest_bodies *b,
                    struct chan_msg *m)
{
    const char *type = ds->ch->as, *name = staff_get(who, "name");

    if (!name || !name[0])
        name = ds->staff;
    m->type = type;
    m->to = to;
    m->idempotency_key = idem;
    m->step = -1;
    m->template_name = "digest";
    if (strcmp(type, "wecom") == 0) {
        digest_text(&b->text, ESC_MARKDOWN, "\n", "**", o, name, day);
        m->to_kind = "member";
        m->format = "markdown";
    } else if (strcmp(type, "email") == 0) {
        struct mime_email e = {
            .from = ds->ch->from ? ds->ch->from : "nudge <nudge@localhost>",
            .to = to, .to_name = name, .subject = b->subject, .key = idem,
            .now_ms = clock_now_ms()};
        snprintf(b->subject, sizeof b->subject, "Leads digest %s", day);
        digest_text(&b->text, ESC_PLAIN, "\n", "", o, name, day);
        tbuf_adds(&b->html, "<p>");
        digest_text(&b->html, ESC_HTML, "<br>\n", "", o, name, day);
        tbuf_adds(&b->html, "</p>\n");
        alert_email_finish(&e, &b->text, &b->html, &b->mime, &b->scratch, m);
    } else {
        digest_text(&b->text, ESC_PLAIN, "\n", "", o, name, day);
    }
    tbuf_terminate(&b->text);
    m->body = b->text.p;
}

/* --- the send -------------------------------------------------------------------- */

static int set_record(struct rconn *rc, const char *key, const char *state)
{
    redisReply *rep = rconn_cmd(rc, "SET %s %s PX %lld", key, state,
                                (long long)RECORD_TTL_MS);

    if (!rep)
        return -1;
    reply_free(rep);
    return 0;
}

static enum job_result after_digest(struct queue_job *job, struct rconn *rc,
                                    void *arg, char *err, size_t n)
{
    struct digest_send *ds = arg;
    const struct chan_result *res = &ds->res;
    char state[200];
    enum job_result verdict = JOB_OK;

    if (res->status == CHAN_OK) {
        snprintf(state, sizeof state, "sent %s", res->provider_id);
        metric_inc(metric_counter("nudge_digests_sent_total",
                                  "Daily digests sent to supervisors", NULL));
    } else if (res->status == CHAN_UNKNOWN && !ds->ch->retry_unknown) {
        snprintf(state, sizeof state, "unknown");
        log_warnx("digest to staff %s: %s: may or may not have gone; not "
                  "sent again",
                  ds->staff, res->error);
    } else if (res->status == CHAN_PERMANENT ||
               job->attempt >= ds->cfg->queue.max_attempts) {
        snprintf(state, sizeof state, "failed permanent");
        snprintf(err, n, "digest to staff %s: %s", ds->staff, res->error);
        verdict = JOB_DEAD;
    } else {
        snprintf(state, sizeof state, "%s",
                 res->status == CHAN_UNKNOWN ? "pending" : "failed transient");
        job->retry_after_ms = res->retry_after_ms;
        snprintf(err, n, "digest to staff %s: %s; will retry", ds->staff,
                 res->error);
        verdict = JOB_RETRY;
    }
    if (set_record(rc, ds->record, state) < 0) {
        snprintf(err, n, "digest to staff %s: Redis: %s", ds->staff,
                 rc->errstr);
        verdict = JOB_RETRY;
    }
    free(ds);
    return verdict;
}

static void on_digest_sent(void *arg, const struct chan_result *res)
{
    struct digest_send *ds = arg;

    ds->res = *res;
    dispatcher_resume(ds->hold, after_digest, ds);
}

/* What the record says: 1 send, 0 nothing to do, -1 error. */
static int may_send(struct digest_send *ds, struct rconn *rc)
{
    char state[200];
    int got = run_record_claim(rc, ds->record, RECORD_TTL_MS, -1, state,
                               sizeof state);

    if (got != 0)
        return got;
    if (strcmp(state, "failed transient") == 0 ||
        (strcmp(state, "pending") == 0 && ds->ch->retry_unknown))
        return set_record(rc, ds->record, "pending") < 0 ? -1 : 1;
    if (strcmp(state, "pending") == 0) {
        log_warnx("digest to staff %s: an earlier attempt's outcome was "
                  "never recorded; not sent again (on_unknown = skip)",
                  ds->staff);
        return set_record(rc, ds->record, "unknown") < 0 ? -1 : 0;
    }
    return 0; /* sent, unknown, failed permanent */
}

/* Renders and submits: JOB_HELD (ds is the continuation's) or
 * JOB_RETRY. */
static enum job_result submit(struct digest_send *ds, const json_t *o,
                              const struct staff *who, const char *to,
                              const char *day, const struct queue_job *job,
                              char *err, size_t n)
{
    struct digest_bodies b = {0};
    struct chan_msg m = {0};
    char idem[QUEUE_ID_MAX];
    enum job_result verdict = JOB_HELD;

    snprintf(idem, sizeof idem, "digest:%s:%s", day, ds->staff);
    compose(ds, o, who, to, day, idem, &b, &m);
    if (b.text.oom || b.html.oom || b.mime.oom ||
        !(ds->hold = dispatcher_hold(job))) {
        snprintf(err, n, "digest to staff %s: out of memory", ds->staff);
        verdict = JOB_RETRY;
    } else if (channel_submit(ds->ch, &m, on_digest_sent, ds) < 0) {
        struct chan_result closing = {0};
        chan_result_fail(&closing, CHAN_TRANSIENT, "closing",
                         "channel %s is closing: not sent", ds->ch->name);
        on_digest_sent(ds, &closing);
    }
    tbuf_free(&b.text);
    tbuf_free(&b.html);
    tbuf_free(&b.mime);
    tbuf_free(&b.scratch);
    return verdict;
}

enum job_result digest_send_job(const struct run_env *env,
                                const struct queue_job *job,
                                struct rconn *rc, const json_t *o, char *err,
                                size_t n)
{
    const struct config *cfg = env->cfg;
    const char *day = json_string_value(json_object_get(o, "digest_send")),
               *staff = json_string_value(json_object_get(o, "staff")), *to;
    struct digest_send *ds;
    struct staff *who = NULL;
    enum job_result verdict = JOB_OK;
    char suffix[160], what[200];
    int64_t wait;
    int got;

    if (!staff || !key_valid_id(staff) || !day || strlen(day) != 10) {
        snprintf(err, n, "payload is not a digest");
        return JOB_DEAD;
    }
    if (!(ds = calloc(1, sizeof *ds))) {
        snprintf(err, n, "out of memory");
        return JOB_RETRY;
    }
    ds->cfg = cfg;
    snprintf(ds->staff, sizeof ds->staff, "%s", staff);
    snprintf(suffix, sizeof suffix, "digest:{%s}:%s", staff, day);
    key_global(ds->record, sizeof ds->record, cfg->redis.prefix, suffix);
    if (!(ds->ch = channels_find(env->chans, cfg->digest.channel))) {
        snprintf(err, n, "digest: no channel %s", cfg->digest.channel);
        free(ds);
        return JOB_DEAD;
    }
    snprintf(what, sizeof what, "digest of %s to staff %s", day, staff);
    if ((wait = policy_staff_hold(cfg, clock_now_ms(), what)) > 0) {
        /* outside the staff window: the job waits in the queue until it
         * opens (a digest at 08:00 goes at 09:00), the record unclaimed */
        dispatcher_later(job, wait);
        free(ds);
        return JOB_LATER;
    }
    if ((got = may_send(ds, rc)) > 0 &&
        (got = staff_load(rc, cfg->redis.prefix, staff, &who)) >= 0) {
        if (got > 0 && (to = staff_contact(who, ds->ch->as))) {
            verdict = submit(ds, o, who, to, day, job, err, n);
        } else {
            log_warnx("digest to staff %s: %s: not sent", staff,
                      got ? "no contact for the channel" : "not in Redis");
            got = set_record(rc, ds->record, "failed permanent");
        }
    }
    staff_free(who);
    if (verdict == JOB_HELD)
        return verdict;
    if (got < 0) {
        snprintf(err, n, "digest to staff %s: Redis: %s", staff, rc->errstr);
        verdict = JOB_RETRY;
    }
    if (verdict == JOB_RETRY)
        set_record(rc, ds->record, "failed transient");
    free(ds);
    return verdict;
}
