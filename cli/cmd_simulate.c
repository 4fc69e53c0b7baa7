/*
 * cmd_simulate.c - nudgectl simulate STUDENT [--event TYPE key=value...]
 * [--at TIME]: what the rules would do to one student, read from Redis,
 * without writing or sending anything. For every rule: whether its
 * trigger fires (for the event given, or for what kind of event it
 * waits), whether `when` matches and if not which part failed and why,
 * then each step with its time and each message rendered. `stop`
 * conditions are evaluated on today's data; the daemon checks them again
 * when the step comes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/keys.h"
#include "core/mask.h"
#include "core/reply.h"
#include "core/student_store.h"
#include "rules/compile.h"
#include "rules/caps.h"
#include "rules/dedup.h"
#include "rules/policy.h"
#include "rules/delivery.h"
#include "rules/eval.h"
#include "rules/holdout.h"
#include "rules/variant.h"
#include "rules/recipient.h"
#include "rules/run.h"
#include "rules/schedule.h"
#include "templates/tmpl.h"

struct sim {
    struct ctl *ctl;
    struct ruleset *rules;
    struct tmpl_set *tmpls;
    struct rules_env env;
    struct student *st;
    struct rview view;
    int64_t now_ms;
    int have_event;
    struct event ev;
    int64_t start_ms; /* when the rule's run would start */
};

static void usage(FILE *fp)
{
    fprintf(fp, "usage: nudgectl -c FILE simulate STUDENT [--event TYPE "
                "key=value...] [--at TIME]\n"
                "Shows which rules would trigger or match for the student and "
                "what each would\nsend, rendered; nothing is sent or written. "
                "TIME is \"YYYY-MM-DD HH:MM\" (local)\nor unix seconds; "
                "default now.\n");
}

/* --- the plan of one rule ---------------------------------------------- */

static const char *channel_type(const struct sim *s, const char *name)
{
    for (size_t i = 0; i < s->env.nchans; i++)
        if (strcmp(s->env.chans[i].name, name) == 0)
            return s->env.chans[i].as;
    return name;
}

static void print_indented(const char *text)
{
    const char *p = text;

    while (p && *p) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        printf("       | %.*s\n", len, p);
        p = nl ? nl + 1 : NULL;
    }
}

/* [delivery] dedup_window: says so when the template's claim is held (the
 * send would be skipped); reads the claim without taking it. */
static int dedup_would_skip(struct sim *s, const struct step *st,
                            const char *type)
{
    const struct config *cfg = &s->ctl->cfg;
    char key[KEY_MAX], prev[DEDUP_HOLDER_MAX], why[300];

    if (cfg->delivery.dedup_window_ms <= 0)
        return 0;
    dedup_key(key, sizeof key, cfg->redis.prefix, s->st->id, st->tmpl,
              type);
    if (dedup_peek(s->ctl->rc, key, prev, sizeof prev) <= 0)
        return 0; /* free, or unreadable: the send itself will see */
    dedup_reason(why, sizeof why, st->tmpl, prev, delivery_zone(cfg, s->st));
    printf("       skipped: %s\n", why);
    return 1;
}

/* The frequency caps (rules/caps.h): says so when one is full at the
 * step's time (the send would be skipped or wait); reads the counters
 * without taking them. */
static int caps_would_hold(struct sim *s, const struct step *st,
                           enum msg_class cls, int64_t at)
{
    const struct config *cfg = &s->ctl->cfg;
    struct conf_section *sec = config_channel(cfg, st->channel);
    struct channel ch = {.name = (char *)st->channel};
    struct cap_set set;
    struct diag d = {0};
    char why[160], when[64];
    int full;

    if (sec) /* a bad value is nudged's error to report, not a preview's */
        channel_read_caps(sec, &ch, &d);
    diag_clear(&d);
    caps_for(&set, cfg, s->st->id, delivery_zone(cfg, s->st), cls, &ch, at);
    if ((full = caps_peek(s->ctl->rc, &set)) <= 0)
        return 0; /* room, or unreadable: the send itself will see */
    caps_reason(&set.v[full - 1], why, sizeof why);
    if (!cfg->delivery.over_cap_defer) {
        printf("       skipped: %s\n", why);
        return 1;
    }
    printf("       %s: waits until %s at least\n", why,
           schedule_format(set.v[full - 1].ends, when, sizeof when));
    return 0;
}

static void render_step(struct sim *s, const struct step *st, int64_t at)
{
    const char *type = channel_type(s, st->channel);
    const struct tmpl_part *part = tmpl_find(s->tmpls, st->tmpl, type);
    struct recipient who;
    struct tmpl_out out;
    struct tmpl_ctx ctx = {
        .student = s->st, .cfg = &s->ctl->cfg, .now_ms = s->now_ms};
    struct policy_decision d;
    char why[256], masked[128];
    int got;

    /* the daemon's own policy (rules/policy.h), at the step's time */
    switch (policy_check(&s->ctl->cfg, st, run_step_class(st, part), type,
                         s->st, at, &d)) {
    case POLICY_DEFER:
        printf("       %s: waits until %s\n", d.why,
               schedule_format(d.until, masked, sizeof masked));
        break;
    case POLICY_SKIP:
        printf("       skipped: %s\n", d.why);
        return;
    case POLICY_END:
        printf("       skipped: %s (the run ends)\n", d.why);
        return;
    case POLICY_SEND:
        break;
    }
    if (st->kind == STEP_SEND &&
        (dedup_would_skip(s, st, type) ||
         caps_would_hold(s, st, run_step_class(st, part), at)))
        return;
    got = recipient_resolve(s->ctl->rc, s->ctl->cfg.redis.prefix, st, s->st,
                            type, &who, why, sizeof why);
    if (got <= 0) {
        printf("       skipped: %s\n", why);
        recipient_clear(&who);
        return;
    }
    if (!part) {
        printf("       failed: template %s has no %s part\n", st->tmpl, type);
        recipient_clear(&who);
        return;
    }
    if (st->kind == STEP_ESCALATE) { /* grouped: rules/alert.h */
        printf("       to %s (staff %s): the lead joins their level %ld "
               "alert on %s, one message for all its leads, within %llds "
               "([alerts] group_wait)\n",
               mask_contact(who.to, masked, sizeof masked), who.target->id,
               st->level, st->channel,
               (long long)s->ctl->cfg.alerts.group_wait_ms / 1000);
        recipient_clear(&who);
        return;
    }
    ctx.owner = who.owner;
    ctx.supervisor = who.supervisor;
    ctx.to = who.to;
    ctx.to_staff = run_step_to_staff(st);
    tmpl_out_init(&out);
    switch (tmpl_render(part, &ctx, &out)) {
    case TMPL_OK:
        printf("       to %s\n",
               out.msg.to ? mask_contact(out.msg.to, masked, sizeof masked)
                          : "(nobody)");
        if (out.msg.subject)
            printf("       subject: %s\n", out.msg.subject);
        print_indented(out.msg.body);
        break;
    case TMPL_MISSING:
        printf("       skipped: %s\n", out.err);
        break;
    default:
        printf("       failed: %s\n", out.err);
        break;
    }
    tmpl_out_free(&out);
    recipient_clear(&who);
}

/* "wait 24h working (until 2026-12-03 15:00 Asia/Shanghai, working
 * time)": the deadline as the school's calendar counts it, in its zone.
 * Returns it, or -1 when no working day comes. */
static int64_t print_working_wait(struct sim *s, const struct step *st,
                                  int64_t at)
{
    const struct worktime *w = &s->ctl->cfg.worktime;
    int64_t due = worktime_wait_until(w, at, st->ms, st->work_days);
    char dur[32], when[32];

    if (st->work_days)
        snprintf(dur, sizeof dur, "%ldd", st->work_days);
    else
        duration_format(st->ms, dur, sizeof dur);
    if (due < 0) {
        printf(" %s working: never ([worktime] has no working day)\n", dur);
        return -1;
    }
    printf(" %s working (until %s %s, working time)\n", dur,
           worktime_format(w, due, when, sizeof when), w->zone);
    return due;
}

/* Prints the steps; returns when a stop would end the run. */
static void print_steps(struct sim *s, const struct crule *r)
{
    int64_t at = s->start_ms;
    char when[32], dur[32], text[512], why[512];

    for (size_t i = 0; i < r->nsteps; i++) {
        const struct step *st = r->steps[i].src;
        printf("    %zu. %s", i + 1, step_kind_name(st->kind));
        switch (st->kind) {
        case STEP_WAIT:
            if (st->working) {
                at = print_working_wait(s, st, at);
                if (at < 0)
                    return;
                continue;
            }
            at += st->ms;
            printf(" %s (until %s)\n", duration_format(st->ms, dur, sizeof dur),
                   schedule_format(at, when, sizeof when));
            continue;
        case STEP_STOP: {
            int holds;
            if (!st->cond) {
                printf(": the run ends here\n");
                return;
            }
            holds = rule_cond_explain(r, r->steps[i].cond, &s->view, why,
                                      sizeof why);
            if (st->unless)
                holds = !holds;
            printf(" %s %s: %s (on today's data)%s%s%s\n",
                   st->unless ? "unless" : "if",
                   cond_format(st->cond, text, sizeof text),
                   holds ? "would stop" : "would go on", why[0] ? ": " : "",
                   why[0] ? why : "", "");
            if (holds)
                return;
            continue;
        }
        case STEP_SEND:
        case STEP_NOTIFY:
        case STEP_ESCALATE: {
            struct step drawn; /* a variant send: the student's template */
            if (st->nvariants) {
                st = variant_step(st, r->name, i, s->st->id, &drawn);
                printf(" %s variant %s (of %zu) at %s\n", st->channel, st->tmpl,
                       st->nvariants, schedule_format(at, when, sizeof when));
                render_step(s, st, at);
                continue;
            }
            if (st->kind == STEP_ESCALATE)
                printf(" level %ld via", st->level);
            else if (st->kind == STEP_NOTIFY)
                printf(" owner via");
            printf(" %s %s at %s\n", st->channel, st->tmpl,
                   schedule_format(at, when, sizeof when));
            render_step(s, st, at);
            continue;
        }
        case STEP_ASSIGN:
            printf(" team %s%s\n", st->arg, st->by_load ? " by load" : "");
            continue;
        default:
            printf(" %s\n", st->arg);
            continue;
        }
    }
}

/* --- triggers ------------------------------------------------------------ */

static void describe_trigger(const struct trigger *t, char *buf, size_t n)
{
    switch (t->kind) {
    case TRIG_EVENT:
        if (t->arg)
            snprintf(buf, n, "on %s %s%s%s",
                     t->ev == EV_CUSTOM ? "event" : event_kind_name(t->ev),
                     t->ev == EV_TAG || t->ev == EV_UNTAG ? "\"" : "", t->arg,
                     t->ev == EV_TAG || t->ev == EV_UNTAG ? "\"" : "");
        else
            snprintf(buf, n, "on %s", event_kind_name(t->ev));
        break;
    default:
        snprintf(buf, n, "a schedule");
        break;
    }
}

/* "stage to=consulting": the event's type and fields. */
static const char *describe_event(const struct event *ev, char *buf, size_t n)
{
    size_t len = (size_t)snprintf(buf, n, "%s", ev->type);

    for (size_t i = 0; i < ev->nfields && len < n; i++) {
        if (strcmp(ev->names[i], "type") == 0 ||
            strcmp(ev->names[i], "student") == 0)
            continue;
        len += (size_t)snprintf(buf + len, n - len, " %s=%s", ev->names[i],
                                ev->values[i]);
    }
    return buf;
}

/* Does the rule start for this simulation? Prints the trigger line. */
static int trigger_line(struct sim *s, const struct crule *r, size_t idx)
{
    const struct trigger *t = &r->src->trig;
    char what[160], next[160];
    int64_t at;

    describe_trigger(t, what, sizeof what);
    s->start_ms = s->now_ms;
    if (t->kind != TRIG_EVENT) {
        at = schedule_next(t, s->now_ms - 1);
        s->start_ms = at;
        if (at < 0) {
            printf("  trigger: a schedule that will not fire again\n");
            return 0;
        }
        printf("  trigger: scheduled, next at %s\n",
               schedule_format(at, next, sizeof next));
        return 1;
    }
    if (!s->have_event) {
        printf("  trigger: %s (pass --event to simulate one)\n", what);
        return 1;
    }
    {
        size_t hits[64], n = ruleset_triggered(s->rules, &s->ev, hits, 64);
        for (size_t i = 0; i < n && i < 64; i++)
            if (hits[i] == idx) {
                printf("  trigger: %s: fired by the event\n", what);
                return 1;
            }
    }
    printf("  not triggered: %s; the event is %s\n", what,
           describe_event(&s->ev, next, sizeof next));
    return 0;
}

/* What Redis says about this rule and student: a run in progress, the
 * limit's count. Returns 0 when a new run would not start. */
static int run_state(struct sim *s, const struct crule *r)
{
    const char *prefix = s->ctl->cfg.redis.prefix;
    char key[KEY_MAX], suffix[300], dur[32], when[32];
    redisReply *rep;
    int go = 1;

    key_student(key, sizeof key, prefix, s->st->id, "runs");
    if ((rep = rconn_cmd(s->ctl->rc, "HGET %s %s", key, r->name))) {
        if (rep->type == REDIS_REPLY_STRING && strchr(rep->str, ' ')) {
            printf("  not started: a run of this rule is in progress (since "
                   "%s)\n",
                   schedule_format(atoll(strchr(rep->str, ' ') + 1), when,
                                   sizeof when));
            go = 0;
        }
        reply_free(rep);
    }
    if (!r->src->limit_n || !go)
        return go;
    snprintf(suffix, sizeof suffix, "limit:%s", r->name);
    key_student(key, sizeof key, prefix, s->st->id, suffix);
    rep = rconn_cmd(s->ctl->rc, "ZCOUNT %s %lld +inf", key,
                    (long long)(s->now_ms - r->src->limit_ms));
    if (rep && rep->type == REDIS_REPLY_INTEGER) {
        printf("  limit %ld per %s: %lld so far\n", r->src->limit_n,
               duration_format(r->src->limit_ms, dur, sizeof dur),
               rep->integer);
        if (rep->integer >= r->src->limit_n) {
            printf("  not started: the limit is reached\n");
            go = 0;
        }
    }
    if (rep)
        reply_free(rep);
    return go;
}

/* The rule's holdout, drawn as the daemon draws it (rules/holdout.h).
 * Returns 1 when the student is held out: no step would run. */
static int holdout_line(const struct sim *s, const struct crule *r)
{
    char share[16];

    if (!r->src->holdout)
        return 0;
    holdout_share_format(r->src->holdout, share, sizeof share);
    if (holdout_keeps_out(r->src, s->st->id)) {
        printf("  held out (%s holdout): the run is recorded as held_out, "
               "nothing is sent\n",
               share);
        return 1;
    }
    printf("  holdout %s: not held out, the steps run\n", share);
    return 0;
}

static void simulate_rule(struct sim *s, size_t idx)
{
    const struct crule *r = &s->rules->rules[idx];
    char why[512];

    printf("%s (%s:%d)\n", r->name, r->src->file, r->src->at.line);
    if (!trigger_line(s, r, idx))
        return;
    if (!rule_cond_explain(r, r->when, &s->view, why, sizeof why)) {
        printf("  when fails: %s\n", why);
        return;
    }
    printf("  when: %s\n", r->when >= 0 ? "matches" : "(none)");
    if (!run_state(s, r) || holdout_line(s, r))
        return;
    print_steps(s, r);
}

/* --- setup ---------------------------------------------------------------- */

static int parse_args(struct sim *s, int argc, char **argv,
                      const char **student)
{
    struct event_reject rej;
    int i;

    *student = NULL;
    s->now_ms = clock_now_ms();
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--at") == 0 && i + 1 < argc) {
            if (schedule_parse_time(argv[++i], &s->now_ms) < 0) {
                fprintf(stderr,
                        "nudgectl: invalid --at \"%s\": use "
                        "\"YYYY-MM-DD HH:MM\" or unix seconds\n",
                        argv[i]);
                return -1;
            }
        } else if (strcmp(argv[i], "--event") == 0 && i + 1 < argc &&
                   *student) {
            int k = i + 2;
            while (k < argc && strchr(argv[k], '=') && argv[k][0] != '-')
                k++;
            if (event_from_args(&s->ev, argv[i + 1], *student, argv + i + 2,
                                k - i - 2, &rej) < 0) {
                fprintf(stderr, "nudgectl: --event: %s\n", rej.text);
                return -1;
            }
            s->have_event = 1;
            i = k - 1;
        } else if (!*student && argv[i][0] != '-') {
            *student = argv[i];
        } else {
            return -1;
        }
    }
    return *student ? 0 : -1;
}

static int load_all(struct sim *s, const char *id)
{
    struct diag d = {0};
    int rc;

    if (rules_env_from_config(&s->env, &s->ctl->cfg) < 0)
        return -1;
    ruleset_load_dir(s->ctl->cfg.rules.dir, &s->env, &s->rules, &d);
    if (s->rules)
        s->tmpls = tmpl_set_load(s->ctl->cfg.templates.dir, &s->ctl->cfg, &d);
    if (!s->rules || !s->tmpls) {
        diag_print(&d, stderr);
        fprintf(stderr, "nudgectl: fix these first (nudgectl check)\n");
        diag_clear(&d);
        return -1;
    }
    diag_clear(&d);
    if (!key_valid_id(id)) {
        fprintf(stderr, "nudgectl: invalid student id \"%s\"\n", id);
        return -1;
    }
    if (!ctl_redis(s->ctl))
        return -1;
    rc = student_load(s->ctl->rc, s->ctl->cfg.redis.prefix, id, &s->st);
    if (rc <= 0) {
        fprintf(stderr, "nudgectl: %s\n",
                rc < 0 ? s->ctl->rc->errstr : "no such student");
        return -1;
    }
    /* The CRM writes the data with the event: show the rules that. */
    if (s->have_event && event_apply(&s->ev, s->st, s->now_ms) < 0)
        return -1;
    if (rview_init(&s->view, s->rules) < 0)
        return -1;
    rview_load(&s->view, s->st, s->now_ms);
    return 0;
}

int cmd_simulate(struct ctl *ctl, int argc, char **argv)
{
    struct sim s = {.ctl = ctl};
    const char *id;
    char when[32];
    int status = CTL_FINDING;

    if (ctl_wants_help(argc, argv)) {
        usage(stdout);
        return CTL_OK;
    }
    if (parse_args(&s, argc, argv, &id) < 0) {
        usage(stderr);
        return CTL_USAGE;
    }
    if (load_all(&s, id) == 0) {
        printf("student %s, stage %s, at %s%s%s\n\n", id,
               student_get(s.st, "stage") ? student_get(s.st, "stage")
                                          : "(none)",
               schedule_format(s.now_ms, when, sizeof when),
               s.have_event ? ", event " : "", s.have_event ? s.ev.type : "");
        for (size_t i = 0; i < s.rules->nrules; i++)
            simulate_rule(&s, i);
        status = CTL_OK;
    }
    if (s.rules)
        rview_free(&s.view);
    student_free(s.st);
    if (s.tmpls)
        tmpl_set_unref(s.tmpls);
    ruleset_free(s.rules);
    rules_env_free(&s.env);
    return status;
}
