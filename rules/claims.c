/*
 * claims.c - the template's claim and the frequency caps a send takes
 * before it goes (see claims.h), and the job's first read that takes
 * them ahead with the send record.
 */
#include "rules/claims.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/reply.h"
#include "rules/caps.h"
#include "rules/dedup.h"
#include "rules/delivery.h"
#include "rules/variant.h"

#define SEND_RECORD_TTL_MS RUN_SEND_RECORD_TTL_MS /* run.h */
/* How many times a deferral past a full cap asks the policy again (the
 * quiet hours, then a blackout date, then the quiet hours once more). */
#define DEFER_TRIES 4

enum msg_class claims_send_class(const struct run *r, const struct step *s)
{
    return run_step_class(s, tmpl_find(r->env->tmpls, s->tmpl,
                                       r->send.ch->as));
}

/* --- the job's first read ---------------------------------------------------- */

int run_pre_cmd(struct rconn *rc, const struct config *cfg,
                struct channel_set *chans, const struct tmpl_set *tmpls,
                const struct crule *rule, const char *student,
                const char *run, size_t i, struct run_pre *p)
{
    char key[KEY_MAX], holder[DEDUP_HOLDER_MAX];
    const struct step *s;
    struct step drawn;
    const struct channel *ch;
    enum msg_class cls;
    int64_t now = clock_now_ms();

    p->step = i;
    p->record = p->caps = p->dedup = -1;
    p->capset.n = 0;
    p->dedup_key[0] = 0;
    if (!run_step_sends(rule, i))
        return 0;
    run_send_record_key(cfg->redis.prefix, student, run, i, 0, key,
                        sizeof key);
    p->record = 0; /* a reply is owed */
    if (rconn_append(rc, "SET %s pending NX PX %lld", key,
                     (long long)SEND_RECORD_TTL_MS) < 0)
        return -1;
    if ((s = rule->steps[i].src)->kind != STEP_SEND ||
        !(ch = channels_find(chans, s->channel)))
        return 0;
    s = variant_step(s, rule->name, i, student, &drawn); /* variant.h */
    if (cfg->delivery.dedup_window_ms > 0) {
        dedup_key(p->dedup_key, sizeof p->dedup_key, cfg->redis.prefix,
                  student, s->tmpl, ch->as);
        dedup_holder(holder, sizeof holder, run, i);
        p->dedup = 0; /* a reply is owed */
        if (dedup_take_cmd(rc, cfg, p->dedup_key, holder, now) < 0)
            return -1;
    }
    /* The student is not read yet: its day in the default zone, which
     * is most students'. claims_take() checks it fits. */
    cls = run_step_class(s, tmpl_find(tmpls, s->tmpl, ch->as));
    caps_for(&p->capset, cfg, student, delivery_default_zone(cfg), cls, ch,
             now);
    if (!p->capset.n)
        return 0;
    p->caps = 0; /* a reply is owed */
    return caps_take_cmd(rc, &p->capset, now);
}

int run_pre_reply(struct rconn *rc, struct run_pre *p)
{
    redisReply *rep;

    if (p->record < 0)
        return 0;
    if (!(rep = rconn_reply(rc)))
        return -1;
    p->record = rep->type == REDIS_REPLY_STATUS;
    reply_free(rep);
    if (p->dedup >= 0 &&
        (p->dedup = dedup_take_reply(rc, p->dedup_prev,
                                     sizeof p->dedup_prev)) < 0)
        return -1;
    if (p->caps >= 0 && (p->caps = caps_take_reply(rc)) == -1)
        return -1;
    return 0; /* -2 (NOSCRIPT): not taken; the step takes them */
}

void run_pre_release(struct rconn *rc, const struct config *cfg,
                     const char *student, const char *run, struct run_pre *p)
{
    char key[KEY_MAX];
    redisReply *rep;

    if (p->record == 1) {
        run_send_record_key(cfg->redis.prefix, student, run, p->step, 0, key,
                            sizeof key);
        if ((rep = rconn_cmd(rc, "DEL %s", key)))
            reply_free(rep);
    }
    if (p->caps == 0)
        caps_give_back(rc, &p->capset);
    if (p->dedup == 1) {
        char holder[DEDUP_HOLDER_MAX];
        dedup_holder(holder, sizeof holder, run, p->step);
        dedup_give_back(rc, p->dedup_key, holder);
    }
    p->record = p->caps = p->dedup = -1;
}

/* --- dedup ------------------------------------------------------------------- */

/* The template's claim taken with the job's first read, when it is this
 * step's: 1 taken, 0 held (prev filled), -1 not taken there. */
static int use_pre_dedup(struct run *r, size_t i, char *prev, size_t n)
{
    int got = r->pre.dedup;

    if (got < 0 || r->pre.step != i ||
        strcmp(r->pre.dedup_key, r->send.dedup_key) != 0)
        return -1;
    r->pre.dedup = -1;
    snprintf(prev, n, "%s", r->pre.dedup_prev);
    return got;
}

/* [delivery] dedup_window: 1 the message may go (the send holds the
 * template's claim, or the window is 0), 0 the template reached the
 * student within the window (skipped, on the timeline), -1 Redis failed.
 * The step's own claim (a retry, the fallback) lets it go. */
static int take_dedup(struct run *r, size_t i, const struct step *s)
{
    const struct config *cfg = r->env->cfg;
    struct run_send *sd = &r->send;
    char holder[DEDUP_HOLDER_MAX], prev[DEDUP_HOLDER_MAX], why[300];
    int got;

    if (cfg->delivery.dedup_window_ms <= 0)
        return 1;
    dedup_key(sd->dedup_key, sizeof sd->dedup_key, cfg->redis.prefix,
              r->student_id, s->tmpl, sd->ch->as);
    dedup_holder(holder, sizeof holder, r->id, i);
    if ((got = use_pre_dedup(r, i, prev, sizeof prev)) < 0 &&
        (got = dedup_take(r->rc, cfg, sd->dedup_key, holder, clock_now_ms(),
                          prev, sizeof prev)) < 0)
        return -1;
    if (got == 1 || dedup_is_own(prev, holder)) {
        sd->deduped = 1;
        return 1;
    }
    dedup_reason(why, sizeof why, s->tmpl, prev, delivery_zone(cfg, r->st));
    run_record(r, i, "skipped", s, NULL, NULL, why);
    run_count("skipped");
    policy_count(POLICY_SKIP, "dedup", claims_send_class(r, s));
    return 0;
}

void claims_give_dedup_back(struct run *r)
{
    char holder[DEDUP_HOLDER_MAX];

    if (!r->send.deduped)
        return;
    r->send.deduped = 0;
    dedup_holder(holder, sizeof holder, r->id, r->send.step);
    dedup_give_back(r->rc, r->send.dedup_key, holder);
}

/* --- frequency caps ----------------------------------------------------------- */

/* The caps taken with the job's first read, when they are the ones this
 * send needs (same step, channel, class and local day): their answer (0
 * taken, k > 0 cap k - 1 full); -1 not usable (given back if taken). */
static int use_pre_caps(struct run *r, size_t i)
{
    int got = r->pre.caps;

    if (got < 0 || r->pre.step != i)
        return -1;
    r->pre.caps = -1;
    if (caps_same(&r->pre.capset, &r->send.caps))
        return got;
    if (got == 0)
        caps_give_back(r->rc, &r->pre.capset);
    return -1;
}

/* Over cap c with over_cap = defer: the message waits until c's day or
 * week is over, and then until the policy lets it go (quiet hours, a
 * blackout date). */
static void defer_past_cap(struct run *r, const struct step *s,
                           enum msg_class cls, const struct cap *c,
                           struct policy_decision *d)
{
    char why[sizeof d->why];
    int64_t at = c->ends;

    for (int k = 0; k < DEFER_TRIES; k++)
        if (policy_check(r->env->cfg, s, cls, r->send.ch->as, r->st, at, d) !=
                POLICY_DEFER ||
            d->until <= at)
            break;
        else
            at = d->until;
    caps_reason(c, why, sizeof why);
    memcpy(d->why, why, sizeof why);
    d->verdict = POLICY_DEFER;
    d->reason = c->week ? "weekly_cap" : "daily_cap";
    d->until = at;
    d->zone = delivery_zone(r->env->cfg, r->st);
}

/* The frequency caps: CLAIMS_TAKEN (r->send.caps holds them),
 * CLAIMS_SKIPPED (over one: on the timeline), CLAIMS_DEFERRED (over one,
 * d filled) or CLAIMS_ERROR. */
static enum claims_result take_caps(struct run *r, size_t i,
                                    const struct step *s,
                                    struct policy_decision *d)
{
    const struct config *cfg = r->env->cfg;
    struct run_send *sd = &r->send;
    enum msg_class cls = claims_send_class(r, s);
    int64_t now = clock_now_ms();
    const struct cap *full;
    char why[160];
    int got;

    caps_for(&sd->caps, cfg, r->student_id, delivery_zone(cfg, r->st), cls,
             sd->ch, now);
    if ((got = use_pre_caps(r, i)) < 0 &&
        (got = caps_take(r->rc, &sd->caps, now)) < 0)
        return CLAIMS_ERROR;
    if (got == 0)
        return CLAIMS_TAKEN;
    full = &sd->caps.v[got - 1];
    sd->caps.n = 0; /* nothing taken */
    if (cfg->delivery.over_cap_defer) {
        defer_past_cap(r, s, cls, full, d);
        policy_count(POLICY_DEFER, d->reason, cls);
        return CLAIMS_DEFERRED;
    }
    caps_reason(full, why, sizeof why);
    run_record(r, i, "skipped", s, NULL, NULL, why);
    run_count("skipped");
    policy_count(POLICY_SKIP, full->week ? "weekly_cap" : "daily_cap", cls);
    return CLAIMS_SKIPPED;
}

void claims_give_caps_back(struct run *r)
{
    caps_give_back(r->rc, &r->send.caps);
    r->send.caps.n = 0;
}

enum claims_result claims_take(struct run *r, size_t i, const struct step *s,
                               struct policy_decision *d)
{
    enum claims_result got;
    int fresh = take_dedup(r, i, s);

    if (fresh <= 0)
        return fresh < 0 ? CLAIMS_ERROR : CLAIMS_SKIPPED;
    if ((got = take_caps(r, i, s, d)) != CLAIMS_TAKEN)
        claims_give_dedup_back(r);
    return got;
}
