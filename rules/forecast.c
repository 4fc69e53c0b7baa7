/*
 * forecast.c - the forecast's walk (rules/forecast.h): a student's queued
 * runs and schedule firings, step by step, through the daemon's own
 * matching, policy, caps and templates, counted by rule, day, channel
 * and hour. Reads no Redis.
 */
#include "rules/forecast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/msgclass.h"
#include "core/worktime.h"
#include "rules/caps.h"
#include "rules/dedup.h"
#include "rules/delivery.h"
#include "rules/holdout.h"
#include "rules/policy.h"
#include "rules/run.h"
#include "rules/schedule.h"

#define DAY_MS (86400LL * 1000)
#define SETTLE_TRIES 16 /* policy and caps moving a message on */
#define LIMIT_KEEP 64   /* run starts kept per rule, for `limit` */

/* A counter of the student's: a cap's (n messages), or a template's
 * dedup claim (taken at `at`). */
struct fc_caps {
    char key[KEY_MAX];
    int n;
    int64_t at;
};

struct fc_starts {
    int64_t at[LIMIT_KEEP];
    size_t n;
};


static int find_firings(struct forecast *fc);

/* --- setting up ------------------------------------------------------------ */

static int64_t local_midnight(int64_t ms, int plus_days)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    localtime_r(&t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_mday += plus_days;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm) * 1000;
}

static void read_channel(struct fc_chan *c, const struct config *cfg,
                         const struct rule_chan *rc)
{
    struct conf_section *sec = config_channel(cfg, rc->name);
    struct diag d = {0};

    c->ch.name = rc->name;
    c->ch.as = rc->as;
    c->ch.type = rc->as;
    /* a bad value is nudged's and `nudgectl check`'s to report */
    if (sec) {
        channel_read_caps(sec, &c->ch, &d);
        channel_read_price(sec, &c->ch.price_per_segment, &d);
    }
    diag_clear(&d);
}

int forecast_init(struct forecast *fc, const struct config *cfg,
                  const struct rules_env *env, const struct ruleset *set,
                  const struct tmpl_set *tmpls, int64_t start_ms, int days)
{
    memset(fc, 0, sizeof *fc);
    if (days < 1 || days > FORECAST_DAYS_MAX)
        return -1;
    fc->cfg = cfg;
    fc->set = set;
    fc->tmpls = tmpls;
    fc->start_ms = start_ms;
    fc->days = days;
    for (int i = 0; i <= days; i++)
        fc->day_start[i] = local_midnight(start_ms, i);
    fc->end_ms = fc->day_start[days];
    fc->nchans = env->nchans;
    fc->nrules = set->nrules;
    for (size_t i = 0; i < set->nrules; i++)
        if (set->rules[i].nsteps > fc->nsteps_max)
            fc->nsteps_max = set->rules[i].nsteps;
    fc->chans = calloc(fc->nchans + 1, sizeof *fc->chans);
    fc->rules = calloc(fc->nrules + 1, sizeof *fc->rules);
    fc->cells = calloc(fc->nrules * (size_t)days * fc->nchans + 1,
                       sizeof *fc->cells);
    fc->hours = calloc((size_t)days * 24, sizeof *fc->hours);
    fc->busy_until = calloc(fc->nrules + 1, sizeof *fc->busy_until);
    fc->starts = calloc(fc->nrules + 1, sizeof *fc->starts);
    fc->rendered = calloc(fc->nrules * fc->nsteps_max + 1,
                          sizeof *fc->rendered);
    if (!fc->chans || !fc->rules || !fc->cells || !fc->hours ||
        !fc->busy_until || !fc->starts || !fc->rendered ||
        rview_init(&fc->view, set) < 0 || find_firings(fc) < 0) {
        forecast_free(fc);
        return -1;
    }
    for (size_t i = 0; i < fc->nchans; i++)
        read_channel(&fc->chans[i], cfg, &env->chans[i]);
    for (size_t i = 0; i < fc->nrules; i++)
        fc->rules[i].rule = &set->rules[i];
    tmpl_out_init(&fc->out);
    return 0;
}

void forecast_free(struct forecast *fc)
{
    if (fc->view.set)
        rview_free(&fc->view);
    if (fc->chans)
        tmpl_out_free(&fc->out);
    for (size_t i = 0; i < fc->npaused_pairs; i++)
        free(fc->paused_pairs[i]);
    free(fc->paused_pairs);
    free(fc->chans);
    free(fc->rules);
    free(fc->cells);
    free(fc->hours);
    free(fc->caps);
    free(fc->busy_until);
    free(fc->starts);
    free(fc->rendered);
    free(fc->firings);
    memset(fc, 0, sizeof *fc);
}

static int rule_index(const struct forecast *fc, const char *name, size_t n)
{
    for (size_t i = 0; i < fc->nrules; i++)
        if (strlen(fc->rules[i].rule->name) == n &&
            memcmp(fc->rules[i].rule->name, name, n) == 0)
            return (int)i;
    return -1;
}

int forecast_chan_find(const struct forecast *fc, const char *name)
{
    for (size_t i = 0; i < fc->nchans; i++)
        if (strcmp(fc->chans[i].ch.name, name) == 0)
            return (int)i;
    return -1;
}

int forecast_pause(struct forecast *fc, const char *field)
{
    const char *slash = strstr(field, "/channel:");
    int r;

    if (strcmp(field, "all") == 0) {
        for (size_t i = 0; i < fc->nchans; i++)
            fc->chans[i].paused = 1;
    } else if (strncmp(field, "channel:", 8) == 0) {
        if ((r = forecast_chan_find(fc, field + 8)) >= 0)
            fc->chans[r].paused = 1;
    } else if (strncmp(field, "rule:", 5) == 0 && !slash) {
        if ((r = rule_index(fc, field + 5, strlen(field + 5))) >= 0)
            fc->rules[r].paused = 1;
    } else if (strncmp(field, "rule:", 5) == 0) {
        char **v = realloc(fc->paused_pairs,
                           (fc->npaused_pairs + 1) * sizeof *v);
        if (!v)
            return -1;
        fc->paused_pairs = v;
        if (!(v[fc->npaused_pairs] = strdup(field)))
            return -1;
        fc->npaused_pairs++;
    }
    return 0;
}

/* Rule ri on channel c is paused, by itself or as a pair. */
static int paused(const struct forecast *fc, size_t ri, size_t c)
{
    char field[512];

    if (fc->rules[ri].paused || fc->chans[c].paused)
        return 1;
    if (!fc->npaused_pairs)
        return 0;
    snprintf(field, sizeof field, "rule:%s/channel:%s",
             fc->rules[ri].rule->name, fc->chans[c].ch.name);
    for (size_t i = 0; i < fc->npaused_pairs; i++)
        if (strcmp(fc->paused_pairs[i], field) == 0)
            return 1;
    return 0;
}

/* --- reading the result ------------------------------------------------------ */

struct fc_cell *forecast_cell(const struct forecast *fc, size_t rule, int day,
                              size_t chan)
{
    return &fc->cells[(rule * (size_t)fc->days + (size_t)day) * fc->nchans +
                      chan];
}

int forecast_day_of(const struct forecast *fc, int64_t ms)
{
    if (ms < fc->start_ms || ms >= fc->end_ms)
        return -1;
    for (int i = 0; i < fc->days; i++)
        if (ms < fc->day_start[i + 1])
            return i;
    return -1;
}

double forecast_busiest_hour(const struct forecast *fc, int *day, int *hour)
{
    double best = 0;

    *day = *hour = 0;
    for (int i = 0; i < fc->days * 24; i++)
        if (fc->hours[i] > best) {
            best = fc->hours[i];
            *day = i / 24;
            *hour = i % 24;
        }
    return best;
}

double forecast_cost(const struct forecast *fc, size_t chan,
                     long long *segments)
{
    long long n = 0;

    for (size_t r = 0; r < fc->nrules; r++)
        for (int d = 0; d < fc->days; d++)
            n += forecast_cell(fc, r, d, chan)->segments;
    if (segments)
        *segments = n;
    return (double)n * fc->chans[chan].ch.price_per_segment;
}

/* --- the caps, in memory ------------------------------------------------------ */

static struct fc_caps *caps_slot(const struct forecast *fc, const char *key)
{
    for (size_t i = 0; i < fc->ncaps; i++)
        if (strcmp(fc->caps[i].key, key) == 0)
            return &fc->caps[i];
    return NULL;
}

/* The first cap of set that is full, or -1. */
static int caps_full(const struct forecast *fc, const struct cap_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        const struct fc_caps *c = caps_slot(fc, set->v[i].key);
        if (c && c->n >= set->v[i].limit)
            return (int)i;
    }
    return -1;
}

/* The counter named key, made (at 0) when it is not there; NULL on no
 * memory. */
static struct fc_caps *caps_get(struct forecast *fc, const char *key)
{
    struct fc_caps *c = caps_slot(fc, key);

    if (c)
        return c;
    if (fc->ncaps == fc->capcaps) {
        size_t cap = fc->capcaps ? fc->capcaps * 2 : 16;
        struct fc_caps *v = realloc(fc->caps, cap * sizeof *v);
        if (!v)
            return NULL;
        fc->caps = v;
        fc->capcaps = cap;
    }
    c = &fc->caps[fc->ncaps++];
    snprintf(c->key, sizeof c->key, "%s", key);
    c->n = 0;
    c->at = 0;
    return c;
}

static int caps_count(struct forecast *fc, const struct cap_set *set)
{
    struct fc_caps *c;

    for (size_t i = 0; i < set->n; i++) {
        if (!(c = caps_get(fc, set->v[i].key)))
            return -1;
        c->n++;
    }
    return 0;
}

/* [delivery] dedup_window (rules/dedup.h): 1 when the template went to
 * the student less than the window before at (the send is skipped). */
static int dedup_holds(const struct forecast *fc, const char *key, int64_t at)
{
    const struct fc_caps *c = caps_slot(fc, key);

    return c && c->n && at < c->at + fc->cfg->delivery.dedup_window_ms;
}

/* --- one student -------------------------------------------------------------- */

struct walker {
    struct forecast *fc;
    const struct student *st;
};

enum settled { SETTLE_SEND, SETTLE_SKIP, SETTLE_END };

/* When the message step s may go, as the daemon decides it (send.c,
 * claims.c): the policy moves it past quiet hours and blackout dates, a
 * full cap skips it or moves it past the cap's day or week. *at moves;
 * set gets the caps it takes. */
static enum settled settle(struct walker *w, const struct step *s,
                           enum msg_class cls, const struct fc_chan *c,
                           int64_t *at, struct cap_set *set, int *moved)
{
    const struct config *cfg = w->fc->cfg;
    struct policy_decision d;
    int full;

    set->n = 0;
    for (int k = 0; k < SETTLE_TRIES; k++) {
        switch (policy_check(cfg, s, cls, c->ch.as, w->st, *at, &d)) {
        case POLICY_DEFER:
            if (d.until <= *at)
                return SETTLE_SKIP;
            *at = d.until;
            *moved = 1;
            continue;
        case POLICY_SKIP:
            return SETTLE_SKIP;
        case POLICY_END:
            return SETTLE_END;
        case POLICY_SEND:
            break;
        }
        if (s->kind != STEP_SEND)
            return SETTLE_SEND;
        caps_for(set, cfg, w->st->id, delivery_zone(cfg, w->st), cls, &c->ch,
                 *at);
        if ((full = caps_full(w->fc, set)) < 0)
            return SETTLE_SEND;
        if (!cfg->delivery.over_cap_defer || set->v[full].ends <= *at)
            return SETTLE_SKIP;
        *at = set->v[full].ends;
        *moved = 1;
    }
    return SETTLE_SKIP;
}

/* The segments message step i of rule ri takes for the student (0 for a
 * type that is no SMS), rendered once per student; -1 when the daemon
 * would not send it (a missing value, no part, no contact). */
static int segments_of(struct walker *w, size_t ri, size_t i,
                       const struct step *s, const struct fc_chan *c,
                       const struct tmpl_part *part, int64_t at)
{
    int *slot = &w->fc->rendered[ri * w->fc->nsteps_max + i];
    struct tmpl_ctx ctx = {.student = w->st, .cfg = w->fc->cfg, .now_ms = at};
    int sms = strcmp(c->ch.as, "sms") == 0;

    if (!part)
        return -1;
    if (s->kind != STEP_SEND) /* staff: the recipient is not read here */
        return sms ? 1 : 0;
    if (*slot)
        return *slot - 1;
    if (tmpl_render(part, &ctx, &w->fc->out) != TMPL_OK ||
        (!w->fc->out.msg.to && strcmp(c->ch.as, "webhook") != 0))
        *slot = 0; /* skipped: stored as -1 + 1 */
    else
        *slot = (sms ? w->fc->out.msg.sms.segments : 0) + 1;
    return *slot - 1;
}

static void count_message(struct forecast *fc, size_t ri, size_t c,
                          int64_t at, int segments)
{
    int day = forecast_day_of(fc, at);
    struct fc_cell *cell = forecast_cell(fc, ri, day, c);
    time_t t = (time_t)(at / 1000);
    struct tm tm;

    localtime_r(&t, &tm);
    cell->messages += 1;
    cell->segments += segments;
    fc->hours[day * 24 + tm.tm_hour] += 1;
}

/* Message step i of rule ri at *t: 1 the run goes on (from *t), 0 it
 * ends here, -1 no memory. */
static int walk_message(struct walker *w, size_t ri, size_t i, int64_t *t)
{
    struct forecast *fc = w->fc;
    struct fc_rule *fr = &fc->rules[ri];
    const struct step *s = fr->rule->steps[i].src;
    int c = forecast_chan_find(fc, s->channel), moved = 0, seg;
    const struct tmpl_part *part;
    struct cap_set set;
    enum settled how;

    if (c < 0) { /* the daemon: failed, no such channel */
        fr->skipped++;
        return 1;
    }
    if (paused(fc, ri, (size_t)c)) { /* held in the queue until resumed */
        fr->held_paused++;
        return 0;
    }
    part = tmpl_find(fc->tmpls, s->tmpl, fc->chans[c].ch.as);
    how = settle(w, s, run_step_class(s, part), &fc->chans[c], t, &set,
                 &moved);
    if (how != SETTLE_SEND) {
        fr->skipped++;
        return how == SETTLE_END ? 0 : 1;
    }
    if (*t >= fc->end_ms) {
        fr->later++;
        return 0;
    }
    if ((seg = segments_of(w, ri, i, s, &fc->chans[c], part, *t)) < 0) {
        fr->skipped++;
        return 1;
    }
    if (s->kind == STEP_SEND && fc->cfg->delivery.dedup_window_ms > 0) {
        char key[KEY_MAX];
        struct fc_caps *claim;
        dedup_key(key, sizeof key, "", w->st->id, s->tmpl,
                  fc->chans[c].ch.as);
        if (dedup_holds(fc, key, *t)) {
            fr->skipped++;
            return 1;
        }
        if (!(claim = caps_get(fc, key)))
            return -1;
        claim->n = 1;
        claim->at = *t;
    }
    if (moved)
        fr->deferred++;
    count_message(fc, ri, (size_t)c, *t, seg);
    return caps_count(fc, &set) < 0 ? -1 : 1;
}

/* Walks rule ri from step `from` at t, as run_steps() would: returns when
 * the run ends (or leaves the horizon), or -1 on no memory. */
static int64_t walk(struct walker *w, size_t ri, size_t from, int64_t t)
{
    const struct crule *cr = w->fc->rules[ri].rule;
    const struct config *cfg = w->fc->cfg;
    int holds, got;

    for (size_t i = from; i < cr->nsteps; i++) {
        const struct step *s = cr->steps[i].src;
        switch (s->kind) {
        case STEP_WAIT:
            t = s->working ? worktime_wait_until(&cfg->worktime, t, s->ms,
                                                 s->work_days)
                           : t + s->ms;
            if (t < 0 || t >= w->fc->end_ms)
                return w->fc->end_ms;
            break;
        case STEP_STOP:
            if (!s->cond)
                return t;
            /* today's data, as if nothing changed; no followup comes */
            w->fc->view.now_ms = t;
            w->fc->view.followed_up = 0;
            holds = rule_cond(cr, cr->steps[i].cond, &w->fc->view);
            if (s->unless ? !holds : holds)
                return t;
            break;
        case STEP_TAG_ADD:
        case STEP_TAG_REMOVE:
        case STEP_ASSIGN:
            break;
        default:
            if ((got = walk_message(w, ri, i, &t)) <= 0)
                return got < 0 ? -1 : t;
            break;
        }
    }
    return t;
}

/* Whether `limit N per D` lets rule ri start again at t; books it. */
static int limit_allows(struct forecast *fc, size_t ri, int64_t t)
{
    const struct rule *r = fc->rules[ri].rule->src;
    struct fc_starts *s = &fc->starts[ri];
    size_t within = 0;

    if (!r->limit_n)
        return 1;
    for (size_t i = 0; i < s->n; i++)
        if (s->at[i] > t - r->limit_ms)
            within++;
    if ((long)within >= r->limit_n)
        return 0;
    if (s->n < LIMIT_KEEP)
        s->at[s->n++] = t;
    return 1;
}

/* A firing of scheduled rule ri at t: the run starts as run_start() and
 * start_rule() would start it. */
static int fire(struct walker *w, size_t ri, int64_t t)
{
    struct forecast *fc = w->fc;
    const struct crule *cr = fc->rules[ri].rule;
    int64_t end;

    fc->view.now_ms = t;
    if (!rule_when(cr, &fc->view) || t < fc->busy_until[ri] ||
        !limit_allows(fc, ri, t))
        return 0;
    fc->rules[ri].runs++;
    if (holdout_keeps_out(cr->src, w->st->id)) {
        fc->rules[ri].held_out++;
        fc->busy_until[ri] = cr->span_ms ? t + cr->span_ms + RUN_MAX_LATE_MS
                                         : t;
        return 0;
    }
    if ((end = walk(w, ri, 0, t)) < 0)
        return -1;
    fc->busy_until[ri] = end;
    return 0;
}

static int by_time(const void *a, const void *b)
{
    const struct fc_begin *x = a, *y = b;

    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return y->job - x->job; /* a run in progress before a new one */
}

/* The firings of the scheduled rules in the horizon, the same for every
 * student: found once, in time order. 0 or -1. */
static int find_firings(struct forecast *fc)
{
    size_t cap = 16;

    if (!(fc->firings = malloc(cap * sizeof *fc->firings)))
        return -1;
    for (size_t j = 0; j < fc->set->nscheduled; j++) {
        size_t ri = fc->set->scheduled[j];
        const struct trigger *tr = &fc->set->rules[ri].src->trig;
        for (int64_t t = schedule_next(tr, fc->start_ms);
             t >= 0 && t < fc->end_ms; t = schedule_next(tr, t)) {
            if (fc->nfirings == cap) {
                struct fc_begin *v =
                    realloc(fc->firings, 2 * cap * sizeof *v);
                if (!v)
                    return -1;
                fc->firings = v;
                cap *= 2;
            }
            fc->firings[fc->nfirings++] = (struct fc_begin){t, ri, 0, 0};
        }
    }
    qsort(fc->firings, fc->nfirings, sizeof *fc->firings, by_time);
    return 0;
}

/* The beginnings of st's runs in the horizon, sorted; *n of them. */
static struct fc_begin *beginnings(const struct forecast *fc,
                                   const struct fc_job *jobs, size_t njobs,
                                   size_t *n)
{
    size_t k = 0;
    struct fc_begin *v = malloc((njobs + fc->nfirings + 1) * sizeof *v);

    if (!v)
        return NULL;
    for (size_t i = 0; i < njobs; i++)
        v[k++] = (struct fc_begin){
            jobs[i].due_ms > fc->start_ms ? jobs[i].due_ms : fc->start_ms,
            jobs[i].rule, jobs[i].step, 1};
    memcpy(v + k, fc->firings, fc->nfirings * sizeof *v);
    k += fc->nfirings;
    if (njobs) /* the firings alone are sorted already */
        qsort(v, k, sizeof *v, by_time);
    *n = k;
    return v;
}

int forecast_student(struct forecast *fc, const struct student *st,
                     const struct fc_job *jobs, size_t njobs)
{
    struct walker w = {.fc = fc, .st = st};
    struct fc_begin *b;
    size_t n;
    int status = 0;

    /* the counters are the student's: start afresh (the array is kept) */
    fc->ncaps = 0;
    fc->students++;
    rview_load(&fc->view, st, fc->start_ms);
    memset(fc->busy_until, 0, fc->nrules * sizeof *fc->busy_until);
    memset(fc->starts, 0, fc->nrules * sizeof *fc->starts);
    memset(fc->rendered, 0,
           fc->nrules * fc->nsteps_max * sizeof *fc->rendered);
    if (!(b = beginnings(fc, jobs, njobs, &n)))
        return -1;
    for (size_t i = 0; i < n && status == 0; i++) {
        int64_t end;
        if (!b[i].job) {
            status = fire(&w, b[i].rule, b[i].at);
            continue;
        }
        if ((end = walk(&w, b[i].rule, b[i].step, b[i].at)) < 0)
            status = -1;
        else if (end > fc->busy_until[b[i].rule])
            fc->busy_until[b[i].rule] = end;
    }
    free(b);
    return status;
}

/* --- event-triggered rules: from their rate ------------------------------------ */

/* Adds per_day messages a day from events spread evenly over each day,
 * landing offset_ms later, to rule ri on channel c. */
static void spread(struct forecast *fc, size_t ri, size_t c, double per_day,
                   int64_t offset_ms)
{
    int64_t whole = offset_ms / DAY_MS;
    double frac = (double)(offset_ms % DAY_MS) / (double)DAY_MS;

    for (int e = 0; e < fc->days; e++) {
        /* today only from now on */
        double share = e == 0 ? (double)(fc->day_start[1] - fc->start_ms) /
                                    (double)DAY_MS
                              : 1.0;
        int64_t d1 = e + whole, d2 = e + whole + 1;
        if (d1 < fc->days)
            forecast_cell(fc, ri, (int)d1, c)->estimated +=
                per_day * share * (1 - frac);
        if (d2 < fc->days && frac > 0)
            forecast_cell(fc, ri, (int)d2, c)->estimated +=
                per_day * share * frac;
    }
}

void forecast_estimate(struct forecast *fc, size_t ri, long long count,
                       int span_days)
{
    struct fc_rule *fr = &fc->rules[ri];
    const struct crule *cr = fr->rule;
    double per_day = span_days > 0 ? (double)count / span_days : 0;
    int64_t offset = 0;
    int c;

    fr->estimated = 1;
    fr->events_30d = count;
    for (size_t i = 0; i < cr->nsteps; i++) {
        const struct step *s = cr->steps[i].src;
        if (s->kind == STEP_WAIT)
            offset += s->ms + (int64_t)s->work_days * DAY_MS;
        else if (run_step_sends(cr, i) &&
                 (c = forecast_chan_find(fc, s->channel)) >= 0 &&
                 !paused(fc, ri, (size_t)c))
            spread(fc, ri, (size_t)c, per_day, offset);
    }
}

long long forecast_sum(const struct forecast *fc, long rule, int day,
                       long chan, double *est)
{
    long long n = 0;

    *est = 0;
    for (size_t r = 0; r < fc->nrules; r++)
        for (int d = 0; (rule < 0 || (size_t)rule == r) && d < fc->days; d++)
            for (size_t k = 0; (day < 0 || day == d) && k < fc->nchans; k++)
                if (chan < 0 || (size_t)chan == k) {
                    n += forecast_cell(fc, r, d, k)->messages;
                    *est += forecast_cell(fc, r, d, k)->estimated;
                }
    return n;
}

int forecast_is_sms(const struct fc_chan *c)
{
    return strcmp(c->ch.as, "sms") == 0;
}

char *forecast_day_text(const struct forecast *fc, int day, char *buf,
                        size_t n)
{
    char t[32];

    schedule_format(fc->day_start[day] + 12 * 3600 * 1000LL, t, sizeof t);
    snprintf(buf, n, "%.10s", t);
    return buf;
}

char *forecast_count_text(long long n, double est, char *buf, size_t len)
{
    if (est >= FORECAST_EST_SHOWN)
        snprintf(buf, len, "%lld + ~%.1f", n, est);
    else
        snprintf(buf, len, "%lld", n);
    return buf;
}
