/*
 * jobs.c - the queue jobs of the rule engine (see engine.h): a run's next
 * step, the continuation after its send, and a batch of a schedule's
 * scan.
 *
 * A batch of a grouped alert is rules/alert_job.c's, the daily digest
 * rules/digest.c's, an opt-out confirmation that waited out the quiet
 * hours rules/consent_confirm.c's.
 *
 * A step job's first round trip reads whether its run is still on, the
 * student, and for a message step claims the send's record and takes the
 * day's count (struct job_read). The dispatcher's prefetch hook makes it
 * for a whole claimed batch at once (engine_prefetch()), so a campaign's
 * jobs cost one round trip per batch instead of one each; a job without
 * it (a retry of the read) makes its own.
 */
#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/student_store.h"
#include "queues/delayed.h"
#include "rules/alert.h"
#include "rules/claims.h"
#include "rules/defer.h"
#include "rules/digest.h"
#include "rules/engine_int.h"
#include "rules/run.h"
#include "rules/scanload.h"

struct step_job {
    const char *run, *rule, *version, *student;
    json_int_t step, started, chain;
};

static enum job_result bad_job(char *err, size_t n, const char *why)
{
    snprintf(err, n, "%s", why);
    return JOB_DEAD;
}

/* A run carried on by a queue job: what its steps need, kept on the heap
 * because a send holds the job and the run goes on in a continuation, on
 * another worker, when the channel has reported. */
struct step_run {
    struct engine *e;
    struct snap *s;     /* a reference */
    struct student *st; /* owned */
    size_t job_step;    /* the step the job was queued for */
    struct run_env env;
    struct run r;
};

static void step_run_free(struct step_run *sr)
{
    run_free(&sr->r);
    env_done(&sr->env);
    student_free(sr->st);
    snap_put(sr->s);
    free(sr);
}

static enum job_result after_send(struct queue_job *job, struct rconn *rc,
                                  void *arg, char *err, size_t n);

/* Settles a job by its run's status; frees sr unless the run is held. */
static enum job_result step_run_settle(struct step_run *sr,
                                       enum run_status status, size_t at,
                                       char *err, size_t n)
{
    enum job_result res;

    if (status == RUN_HELD)
        return JOB_HELD; /* sr belongs to the continuation */
    if (status == RUN_RETRY && at == sr->job_step) {
        if (!err[0])
            snprintf(err, n, "step %zu failed, will retry", at + 1);
        res = JOB_RETRY;
    } else {
        res = settle_run(&sr->r, status, at, err) < 0 ? JOB_RETRY : JOB_OK;
    }
    step_run_free(sr);
    return res;
}

/* The continuation of a send (queues/dispatcher.h): the outcome goes on
 * the timeline and the run goes on, on this worker's connection. */
static enum job_result after_send(struct queue_job *job, struct rconn *rc,
                                  void *arg, char *err, size_t n)
{
    struct run *r = arg;
    struct step_run *sr =
        (struct step_run *)((char *)r - offsetof(struct step_run, r));
    size_t at = 0;

    env_done(&sr->env);
    env_of(sr->e, sr->s, rc, &sr->env);
    sr->env.after_send = after_send;
    r->rc = rc;
    return step_run_settle(sr, run_after_send(r, job, &at, err, n), at, err, n);
}

/* A step job's first read (see the top of this file). */
struct job_read {
    struct snap *s; /* a reference: the set the read was made for */
    json_t *o;      /* the payload; j's strings point into it */
    struct step_job j;
    const struct crule *rule; /* NULL: removed on a reload */
    int read;                 /* the replies below are in */
    int current;              /* the run is still on */
    struct student *st;       /* owned; NULL: the student is gone */
    struct run_pre pre;
};

static void job_read_free(struct job_read *rd)
{
    if (!rd)
        return;
    student_free(rd->st);
    json_decref(rd->o);
    snap_put(rd->s);
    free(rd);
}

/* Reads a step job's fields out of its payload o. 0, or -1 when it is
 * not one. */
static int parse_step_job(json_t *o, struct step_job *j)
{
    if (json_unpack(o, "{s:s, s:s, s:s, s:I, s:s, s:I, s:I}", "run", &j->run,
                    "rule", &j->rule, "version", &j->version, "step", &j->step,
                    "student", &j->student, "started", &j->started, "chain",
                    &j->chain) < 0 ||
        !key_valid_id(j->student) || j->step < 0)
        return -1;
    return 0;
}

/* A read, not made yet, for the step job j parsed from o (which the read
 * takes). NULL: no memory (o is the caller's still). */
static struct job_read *job_read_new(struct engine *e, json_t *o,
                                     const struct step_job *j)
{
    struct job_read *rd = calloc(1, sizeof *rd);

    if (!rd)
        return NULL;
    rd->o = o;
    rd->j = *j;
    rd->s = snap_get(e);
    rd->rule = ruleset_find(rd->s->rules, j->rule);
    rd->pre.record = rd->pre.caps = rd->pre.dedup = -1;
    return rd;
}

static int job_read_cmds(struct engine *e, struct rconn *rc,
                         struct job_read *rd)
{
    const struct step_job *j = &rd->j;

    if (run_is_current_cmd(rc, e->cfg->redis.prefix, j->student, j->rule) < 0 ||
        student_append_reads(rc, e->cfg->redis.prefix, j->student) < 0)
        return -1;
    return rd->rule ? run_pre_cmd(rc, e->cfg, e->chans, rd->s->tmpls, rd->rule,
                                  j->student, j->run, (size_t)j->step,
                                  &rd->pre)
                    : 0;
}

/* 0, or -1 when the connection failed (then closed: replies may be left
 * in it). */
static int job_read_replies(struct rconn *rc, struct job_read *rd)
{
    int got = run_is_current_reply(rc, rd->j.run);

    if (got < 0 || student_read(rc, rd->j.student, &rd->st) < 0 ||
        run_pre_reply(rc, &rd->pre) < 0) {
        rconn_close(rc);
        return -1;
    }
    rd->current = got;
    rd->read = 1;
    return 0;
}

void engine_prefetch(struct queue_job *jobs, size_t n, struct rconn *rc,
                     void *ctx)
{
    struct engine *e = ctx;
    size_t i, sent = 0;

    for (i = 0; i < n; i++) {
        json_t *o = jobs[i].payload
                        ? json_loadb(jobs[i].payload, jobs[i].len, 0, NULL)
                        : NULL;
        struct step_job j;
        struct job_read *rd = NULL;

        if (o && parse_step_job(o, &j) == 0)
            rd = job_read_new(e, o, &j);
        if (!rd) { /* a scan batch or a bad payload: its handler sees */
            json_decref(o);
            continue;
        }
        jobs[i].pre = rd;
        if (job_read_cmds(e, rc, rd) < 0)
            break;
        sent = i + 1;
    }
    for (i = 0; i < n; i++) {
        struct job_read *rd = jobs[i].pre;
        /* after a failed read the rest read again in their handlers */
        if (rd && (i >= sent || !rc->c || job_read_replies(rc, rd) < 0)) {
            job_read_free(rd);
            jobs[i].pre = NULL;
        }
    }
}

void engine_drop(struct queue_job *job, struct rconn *rc, void *ctx)
{
    struct engine *e = ctx;
    struct job_read *rd = job->pre;

    run_pre_release(rc, e->cfg, rd->j.student, rd->j.run, &rd->pre);
    job_read_free(rd);
    job->pre = NULL;
}

/* Runs the job's step (and those after it up to a wait or a send) with
 * what rd read; frees rd. */
static enum job_result run_job(struct engine *e, struct rconn *rc,
                               const struct queue_job *job, struct job_read *rd,
                               char *err, size_t n)
{
    const struct step_job *j = &rd->j;
    char version[24], why[256];
    struct step_run *sr;
    size_t at = 0;
    enum job_result res = JOB_OK;

    if (!rd->current || !rd->st) /* no step will run */
        run_pre_release(rc, e->cfg, j->student, j->run, &rd->pre);
    if (!rd->current)
        goto done; /* a run that has ended */
    if (rd->rule)
        snprintf(version, sizeof version, "%016llx",
                 (unsigned long long)rd->rule->version);
    if (!rd->rule || strcmp(version, j->version) != 0) {
        snprintf(why, sizeof why, "rule %s was %s on reload: the run ends",
                 j->rule, rd->rule ? "changed" : "removed");
        run_pre_release(rc, e->cfg, j->student, j->run, &rd->pre);
        if (run_abandon(rc, e->cfg, j->student, j->rule, j->run, (int)j->step,
                        why) < 0)
            res = JOB_RETRY;
        goto done;
    }
    if (!rd->st) {
        run_abandon(rc, e->cfg, j->student, j->rule, j->run, (int)j->step,
                    "the student is gone: the run ends");
        goto done;
    }
    if (!(sr = calloc(1, sizeof *sr))) {
        snprintf(err, n, "out of memory");
        res = JOB_RETRY;
        goto done;
    }
    sr->e = e;
    sr->s = rd->s;
    atomic_fetch_add(&rd->s->refs, 1);
    sr->st = rd->st;
    rd->st = NULL;
    sr->job_step = (size_t)j->step;
    env_of(e, sr->s, rc, &sr->env);
    sr->env.after_send = after_send;
    if (run_resume(&sr->r, &sr->env, rc, rd->rule, j->run, j->started,
                   (int)j->chain, sr->st) < 0) {
        step_run_free(sr);
        snprintf(err, n, "out of memory");
        res = JOB_RETRY;
        goto done;
    }
    sr->r.job = job;
    sr->r.pre = rd->pre;
    job_read_free(rd);
    return step_run_settle(sr, run_steps(&sr->r, sr->job_step, &at, err, n), at,
                           err, n);
done:
    job_read_free(rd);
    return res;
}

/* The students of a scan batch whose `when` holds. */
struct scan_pick {
    const struct crule *rule;
    struct rview view;
    struct student **v;
    size_t n;
};

static int pick_student(void *ctx, struct student **st)
{
    struct scan_pick *p = ctx;

    rview_load(&p->view, *st, clock_now_ms());
    if (!rule_when(p->rule, &p->view))
        return 0;
    p->v[p->n++] = *st; /* v has room for every id */
    *st = NULL;
    return 0;
}

/* A batch of a schedule's scan: load the students (overlapped with the
 * evaluation), then start the rule for each that matches. */
static enum job_result scan_job(struct engine *e, struct snap *s,
                                struct rconn *rc, json_t *o, char *err,
                                size_t n)
{
    struct scan_pick p = {
        .rule = ruleset_find(s->rules,
                             json_string_value(json_object_get(o, "scan")))};
    json_t *ids = json_object_get(o, "ids"), *v;
    size_t count = json_array_size(ids), i;
    const char **idv = calloc(count + 1, sizeof *idv);
    struct run_env env;
    enum job_result res = JOB_OK;
    char id[48];

    p.v = calloc(count + 1, sizeof *p.v);
    if (!p.rule || !idv || !p.v || rview_init(&p.view, s->rules) < 0) {
        free(idv);
        free(p.v);
        return p.rule ? JOB_RETRY : JOB_OK; /* a removed rule: nothing */
    }
    json_array_foreach(ids, i, v) idv[i] = json_string_value(v);
    if (students_each(rc, e->cfg->redis.prefix, idv, count, pick_student, &p) <
        0) {
        snprintf(err, n, "loading students: %s", rc->errstr);
        res = JOB_RETRY;
    }
    /* One id per firing: a batch run twice finds the runs it started. */
    snprintf(id, sizeof id, "f%lld",
             (long long)json_integer_value(json_object_get(o, "fire")));
    env_of(e, s, rc, &env);
    env.defer = run_defer_new();
    for (i = 0; i < p.n; i++) {
        rview_load(&p.view, p.v[i], clock_now_ms());
        if (res == JOB_OK && (!env.defer || start_rule(&env, rc, p.rule, p.v[i],
                                                       &p.view, 0, id) < 0))
            res = JOB_RETRY; /* a run started again finds its jobs */
        student_free(p.v[i]);
    }
    if (res == JOB_OK && env.q &&
        run_defer_flush(env.defer, rc, env.q, err, n) < 0)
        res = JOB_RETRY;
    run_defer_free(env.defer);
    env_done(&env);
    free(p.v);
    free(idv);
    rview_free(&p.view);
    return res;
}

/* A batch of a grouped alert (rules/alert.h) or a part of the daily
 * digest (rules/digest.h); takes o. */
static enum job_result staff_message_job(struct engine *e,
                                         const struct queue_job *job,
                                         struct rconn *rc, json_t *o, char *err,
                                         size_t n)
{
    struct snap *s = snap_get(e);
    struct run_env env = {0};
    enum job_result res;

    env_of(e, s, rc, &env);
    res = alert_is_job(o) ? alert_job(&env, job, rc, o, err, n)
                          : digest_job(&env, job, rc, o, err, n);
    env_done(&env);
    snap_put(s); /* the alert renders before it is held: the set may go */
    json_decref(o);
    return res;
}

enum job_result engine_job(const struct queue_job *job, struct rconn *rc,
                           void *ctx, char *err, size_t errlen)
{
    struct engine *e = ctx;
    struct job_read *rd = job->pre;
    enum job_result res;
    struct step_job j;
    struct snap *s;
    json_t *o;

    if (!rd) {
        if (!(o = json_loadb(job->payload, job->len, 0, NULL)))
            return bad_job(err, errlen, "payload is not JSON");
        if (json_object_get(o, "scan")) {
            s = snap_get(e);
            res = scan_job(e, s, rc, o, err, errlen);
            snap_put(s);
            json_decref(o);
            return res;
        }
        if (alert_is_job(o) || digest_is_job(o))
            return staff_message_job(e, job, rc, o, err, errlen);
        if (consent_confirm_is_job(o)) {
            s = snap_get(e);
            res = consent_confirm_job(e->confirm, rc, s->tmpls, o, err,
                                      errlen);
            snap_put(s);
            json_decref(o);
            return res;
        }
        if (parse_step_job(o, &j) < 0) {
            json_decref(o);
            return bad_job(err, errlen, "payload is not a rule step");
        }
        if (!(rd = job_read_new(e, o, &j))) {
            json_decref(o);
            snprintf(err, errlen, "out of memory");
            return JOB_RETRY;
        }
    }
    if (!rd->read &&
        (job_read_cmds(e, rc, rd) < 0 || job_read_replies(rc, rd) < 0)) {
        job_read_free(rd);
        return JOB_RETRY;
    }
    return run_job(e, rc, job, rd, err, errlen);
}
