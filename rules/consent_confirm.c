/*
 * consent_confirm.c - the opt-out confirmation (see consent_confirm.h):
 * claim, render, submit (or queue it past the service quiet hours), and
 * the entry when the channel reports.
 */
#include "rules/consent_confirm.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/consent.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/reply.h"
#include "core/student_store.h"
#include "core/timeline.h"
#include "queues/delayed.h"
#include "rules/policy.h"
#include "templates/tmpl.h"

struct consent_confirm {
    const struct config *cfg;
    struct channel_set *chans;
    struct consent consent;
    pthread_mutex_t lock; /* guards rc: done() runs on channel threads */
    struct rconn *rc;
};

/* What done() needs once the channel reports. */
struct pending {
    struct consent_confirm *cc;
    char student[160], channel[128], to[256], event_id[64];
};

struct consent_confirm *consent_confirm_new(const struct config *cfg,
                                            struct channel_set *chans)
{
    struct consent_confirm *cc;
    char err[256];

    if (!cfg->consent.confirm_template || !*cfg->consent.confirm_template)
        return NULL;
    if (!(cc = calloc(1, sizeof *cc)))
        return NULL;
    cc->cfg = cfg;
    cc->chans = chans;
    if (consent_init(&cc->consent, cfg, err, sizeof err) < 0 ||
        !(cc->rc = rconn_new(cfg, NULL))) {
        consent_clear(&cc->consent);
        free(cc);
        return NULL;
    }
    pthread_mutex_init(&cc->lock, NULL);
    return cc;
}

void consent_confirm_free(struct consent_confirm *cc)
{
    if (!cc)
        return;
    rconn_free(cc->rc);
    consent_clear(&cc->consent);
    pthread_mutex_destroy(&cc->lock);
    free(cc);
}

int consent_confirm_wants(const struct consent_confirm *cc,
                          const struct event *ev)
{
    return cc && ev->kind == EV_REPLY &&
           consent_verdict(&cc->consent, event_get(ev, "text")) ==
               CONSENT_OPTOUT;
}

/* The channel to answer on: the one named as the reply's channel, else
 * the first whose messages are of that type (an outbox standing in). */
static struct channel *answer_channel(const struct consent_confirm *cc,
                                      const char *type)
{
    struct channel *ch = channels_find(cc->chans, type);

    if (ch && strcmp(ch->as, type) == 0)
        return ch;
    for (size_t i = 0; i < cc->chans->n; i++)
        if (strcmp(cc->chans->v[i].as, type) == 0)
            return &cc->chans->v[i];
    return NULL;
}

/* 1 claimed (send it), 0 confirmed before, -1 Redis failed. */
static int claim(struct rconn *rc, const struct config *cfg,
                 const char *student, const char *member)
{
    char key[KEY_MAX];
    redisReply *r;
    int got;

    consent_confirmed_key(key, sizeof key, cfg->redis.prefix, student, member);
    if (!(r = rconn_cmd(rc, "SET %s 1 NX", key)))
        return -1;
    got = r->type == REDIS_REPLY_STATUS;
    reply_free(r);
    return got;
}

static void unclaim(struct rconn *rc, const struct config *cfg,
                    const char *student, const char *member)
{
    char key[KEY_MAX];
    redisReply *r;

    consent_confirmed_key(key, sizeof key, cfg->redis.prefix, student, member);
    if ((r = rconn_cmd(rc, "DEL %s", key)))
        reply_free(r);
}

/* Writes the outcome's entry on cc's own connection. */
static void write_entry(struct consent_confirm *cc, const char *student,
                        const struct tl_entry *e)
{
    pthread_mutex_lock(&cc->lock);
    if ((!cc->rc->c && rconn_connect(cc->rc) < 0) ||
        timeline_append(cc->rc, cc->cfg->redis.prefix, student,
                        cc->cfg->redis.timeline_maxlen, e) < 0) {
        log_warnx("consent: the confirmation's entry for student %s: %s",
                  student, cc->rc->errstr);
        rconn_close(cc->rc);
    }
    pthread_mutex_unlock(&cc->lock);
}

static void entry_of(struct consent_confirm *cc, const char *type,
                     const char *channel, const char *to, const char *detail,
                     const char *event_id, struct tl_entry *e)
{
    *e = (struct tl_entry)TL_ENTRY_INIT;
    e->type = type;
    e->channel = channel;
    e->template_name = cc->cfg->consent.confirm_template;
    e->to = to && *to ? to : NULL;
    e->detail = detail;
    e->actor = "consent";
    e->event_id = event_id && *event_id ? event_id : NULL;
}

/* The channel's report, on its thread. */
static void on_sent(void *arg, const struct chan_result *res)
{
    struct pending *p = arg;
    struct tl_entry e;
    char detail[400];

    if (res->status == CHAN_OK)
        snprintf(detail, sizeof detail, "opt-out confirmation");
    else
        snprintf(detail, sizeof detail, "opt-out confirmation: %s%s%s; "
                 "not sent again", res->code, res->code[0] ? ": " : "",
                 res->error);
    entry_of(p->cc, res->status == CHAN_OK ? "sent" : "failed", p->channel,
             p->to, detail, p->event_id, &e);
    e.provider_id = res->provider_id[0] ? res->provider_id : NULL;
    write_entry(p->cc, p->student, &e);
    free(p);
}

/* The confirmation of one opt-out: the reply's student, event and
 * channel type. */
struct confirm_of {
    const char *student, *event_id, *type;
};

/* An entry for a confirmation that could not even be tried, or was not
 * sent after all (type "skipped"), or waits (type "deferred", no
 * warning). */
static void not_sent(struct consent_confirm *cc, const struct confirm_of *c,
                     const char *type, const char *channel, const char *why)
{
    struct tl_entry e;
    char detail[400];

    snprintf(detail, sizeof detail, "opt-out confirmation: %s", why);
    entry_of(cc, type, channel, NULL, detail, c->event_id, &e);
    if (strcmp(type, "skipped") == 0)
        log_warnx("consent: student %s: %s", c->student, detail);
    write_entry(cc, c->student, &e);
}

/* Renders the confirmation for st on ch and submits it. */
static void submit(struct consent_confirm *cc, const struct tmpl_part *part,
                   struct channel *ch, const struct confirm_of *c,
                   const struct student *st)
{
    struct tmpl_ctx ctx = {.student = st, .cfg = cc->cfg, .from = ch->from};
    struct chan_msg m = {0};
    struct tmpl_out out;
    struct pending *p;
    char key[200];

    snprintf(key, sizeof key, "consent:%s:%s", c->student, c->event_id);
    ctx.key = key;
    tmpl_out_init(&out);
    if (tmpl_render(part, &ctx, &out) != TMPL_OK) {
        not_sent(cc, c, "skipped", ch->name, out.err);
    } else if (!(p = calloc(1, sizeof *p))) {
        not_sent(cc, c, "skipped", ch->name, "out of memory");
    } else {
        p->cc = cc;
        snprintf(p->student, sizeof p->student, "%s", c->student);
        snprintf(p->channel, sizeof p->channel, "%s", ch->name);
        snprintf(p->to, sizeof p->to, "%s", out.msg.to ? out.msg.to : "");
        snprintf(p->event_id, sizeof p->event_id, "%s", c->event_id);
        tmpl_msg_to_chan(&out.msg, &m);
        m.student = c->student;
        m.template_name = cc->cfg->consent.confirm_template;
        m.step = -1;
        m.idempotency_key = key;
        if (channel_submit(ch, &m, on_sent, p) < 0) {
            free(p);
            not_sent(cc, c, "skipped", ch->name, "the channel is closing");
        }
    }
    tmpl_out_free(&out);
}

/* The job that sends a confirmation once the service quiet hours end:
 * run:STUDENT:consent:EVENT, so that `nudgectl forget` removes it with
 * the student's other jobs. 0 or -1 (rc->errstr). */
static int queue_confirm(struct consent_confirm *cc, struct rconn *rc,
                         const struct confirm_of *c, int64_t at_ms)
{
    struct queue *q = queue_open(cc->cfg, rc);
    json_t *o = json_pack("{s:s, s:s, s:s}", "consent_confirm", c->student,
                          "event", c->event_id, "channel", c->type);
    char *payload = o ? json_dumps(o, JSON_COMPACT) : NULL;
    char id[QUEUE_ID_MAX];
    int got = -1;

    snprintf(id, sizeof id, "run:%s:consent:%s", c->student, c->event_id);
    if (q && payload)
        got = queue_schedule_at(q, id, payload, strlen(payload), at_ms);
    if (got < 0)
        snprintf(rc->errstr, sizeof rc->errstr,
                 "queueing the opt-out confirmation: %.200s",
                 q && payload ? queue_error(q) : "out of memory");
    free(payload);
    json_decref(o);
    if (q)
        queue_close(q);
    return got < 0 ? -1 : 0;
}

/* Sends the confirmation c to st now, or, inside the service quiet hours
 * in st's zone (the policy's window, rules/policy.h), queues it for their
 * end with a `deferred` entry. The opt-out it confirms is NOT asked: the
 * student has just refused the channel, and this one message saying so
 * is the point (docs/policy.md). 0 or -1 (Redis). */
static int confirm(struct consent_confirm *cc, struct rconn *rc,
                   const struct tmpl_set *tmpls, const struct confirm_of *c,
                   const struct student *st)
{
    const char *name = cc->cfg->consent.confirm_template;
    const struct tmpl_part *part;
    struct policy_decision d;
    struct channel *ch;
    char why[400], when[32];

    if (!(ch = answer_channel(cc, c->type))) {
        snprintf(why, sizeof why, "no channel sends %s messages", c->type);
        not_sent(cc, c, "skipped", c->type, why);
    } else if (!(part = tmpl_find(tmpls, name, ch->as))) {
        snprintf(why, sizeof why, "template %s has no %s part", name, ch->as);
        not_sent(cc, c, "skipped", ch->name, why);
    } else if (policy_window(cc->cfg, MSG_SERVICE, st, clock_now_ms(), &d) ==
               POLICY_DEFER) {
        if (queue_confirm(cc, rc, c, d.until) < 0)
            return -1;
        policy_count(POLICY_DEFER, d.reason, MSG_SERVICE);
        snprintf(why, sizeof why, "%s: until %s", d.why,
                 policy_until_text(&d, when, sizeof when));
        not_sent(cc, c, "deferred", ch->name, why);
    } else {
        submit(cc, part, ch, c, st);
    }
    return 0;
}

int consent_confirm_on_event(struct consent_confirm *cc, struct rconn *rc,
                             const struct tmpl_set *tmpls,
                             const struct event *ev, const struct student *st)
{
    struct confirm_of c = {ev->student, ev->id, event_get(ev, "channel")};
    int got;

    if (!consent_confirm_wants(cc, ev) || !c.type || !st)
        return 0;
    if ((got = claim(rc, cc->cfg, ev->student,
                     consent_member(&cc->consent, c.type))) <= 0)
        return got;
    if (confirm(cc, rc, tmpls, &c, st) == 0)
        return 0;
    /* not queued: the claim is given back, so that the event, handled
     * again, confirms (best effort: Redis has just failed) */
    unclaim(rc, cc->cfg, ev->student, consent_member(&cc->consent, c.type));
    return -1;
}

int consent_confirm_is_job(const json_t *o)
{
    return json_is_string(json_object_get(o, "consent_confirm"));
}

enum job_result consent_confirm_job(struct consent_confirm *cc,
                                    struct rconn *rc,
                                    const struct tmpl_set *tmpls,
                                    const json_t *o, char *err, size_t n)
{
    struct confirm_of c;
    struct student *st = NULL;
    int got;

    if (json_unpack((json_t *)o, "{s:s, s:s, s:s}", "consent_confirm",
                    &c.student, "event", &c.event_id, "channel",
                    &c.type) < 0 ||
        !key_valid_id(c.student)) {
        snprintf(err, n, "payload is not an opt-out confirmation");
        return JOB_DEAD;
    }
    if (!cc) { /* [consent] confirm_template emptied since */
        log_info("consent: student %s: the opt-out confirmation is off "
                 "([consent] confirm_template): not sent",
                 c.student);
        return JOB_OK;
    }
    if ((got = student_load(rc, cc->cfg->redis.prefix, c.student, &st)) <
        0) {
        snprintf(err, n, "opt-out confirmation: Redis: %s", rc->errstr);
        return JOB_RETRY;
    }
    if (got == 0) /* forgotten meanwhile: nobody to confirm to */
        return JOB_OK;
    if (!student_opted_out(st, c.type)) /* opted in again meanwhile */
        not_sent(cc, &c, "skipped", c.type,
                 "the student opted in again before it went out");
    else if (confirm(cc, rc, tmpls, &c, st) < 0)
        got = -1;
    student_free(st);
    if (got < 0) {
        snprintf(err, n, "opt-out confirmation: Redis: %s", rc->errstr);
        return JOB_RETRY;
    }
    return JOB_OK;
}
