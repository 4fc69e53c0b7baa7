/*
 * engine.c - the rule engine's life, events and schedules (see engine.h).
 * The queue jobs that carry runs on are jobs.c, the steps themselves
 * run.c.
 */
#include "rules/engine.h"
#include "rules/engine_int.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/reply.h"
#include "core/student_store.h"
#include "queues/delayed.h"
#include "rules/defer.h"
#include "rules/leads.h"
#include "rules/digest.h"
#include "rules/holdout.h"
#include "rules/report.h"
#include "rules/run.h"
#include "rules/scanload.h"
#include "rules/schedule.h"

#define SCAN_BATCH 500

/* --- rule sets ------------------------------------------------------------ */

void snap_put(struct snap *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    ruleset_free(s->rules);
    if (s->tmpls)
        tmpl_set_unref(s->tmpls);
    rules_env_free(&s->env);
    free(s);
}

struct snap *snap_get(struct engine *e)
{
    struct snap *s;

    pthread_mutex_lock(&e->lock);
    s = e->snap;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&e->lock);
    return s;
}

static struct snap *snap_load(const struct config *cfg, struct diag *d)
{
    struct snap *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    if (rules_env_from_config(&s->env, cfg) < 0)
        goto fail;
    /* a missing rules folder is an error, here as in `nudgectl check`
     * (ruleset_load_dir() says so): a daemon that only records events
     * has an empty one */
    s->tmpls = tmpl_set_load(cfg->templates.dir, cfg, d);
    if (ruleset_load_dir(cfg->rules.dir, &s->env, &s->rules, d) < 0 ||
        !s->tmpls)
        goto fail;
    return s;
fail:
    snap_put(s);
    return NULL;
}

/* Watched from before the first load, so that a file changed while the
 * daemon starts is loaded too (it would be missed between that load and
 * the thread's first look). *err gets the errno of a folder that could
 * not be watched (0: none), said once the load has worked. */
static int watch_dirs(const struct config *cfg, int *err)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    uint32_t mask =
        IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE;

    *err = fd < 0 ? errno : 0;
    if (fd >= 0 && (inotify_add_watch(fd, cfg->rules.dir, mask) < 0 ||
                    inotify_add_watch(fd, cfg->templates.dir, mask) < 0))
        *err = errno;
    return fd;
}

struct engine *engine_new(const struct config *cfg, struct channel_set *chans,
                          struct diag *d)
{
    struct engine *e = calloc(1, sizeof *e);
    int watch_err;

    if (!e)
        return NULL;
    e->cfg = cfg;
    e->chans = chans;
    e->watch = watch_dirs(cfg, &watch_err);
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->defer_lock, NULL);
    if (!(e->defer = run_defer_new()) || !(e->snap = snap_load(cfg, d))) {
        if (e->watch >= 0)
            close(e->watch);
        run_defer_free(e->defer);
        pthread_mutex_destroy(&e->defer_lock);
        pthread_mutex_destroy(&e->lock);
        free(e);
        return NULL;
    }
    e->confirm = consent_confirm_new(cfg, chans);
    log_info("rules: %zu rules from %s", e->snap->rules->nrules,
             cfg->rules.dir);
    if (watch_err) {
        errno = watch_err;
        log_warn("inotify on the rules and templates folders");
    }
    return e;
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    engine_stop(e);
    if (e->watch >= 0)
        close(e->watch);
    consent_confirm_free(e->confirm);
    snap_put(e->snap);
    run_defer_free(e->defer);
    pthread_mutex_destroy(&e->defer_lock);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

void reload_refused(const char *what, const char *kept,
                    const struct diag *d)
{
    char labels[64];

    snprintf(labels, sizeof labels, "what=\"%s\"", what);
    metric_inc(metric_counter("nudge_reloads_refused_total",
                              "Reloads refused for errors (the running "
                              "config or rules kept)",
                              labels));
    log_warnx("%s reload refused, keeping %s: %d error%s, the first: %s "
              "(nudgectl check lists them)",
              what, kept, d->errors, d->errors == 1 ? "" : "s",
              diag_first(d));
}

int engine_reload(struct engine *e, struct diag *d)
{
    struct snap *fresh = snap_load(e->cfg, d), *old;

    if (!fresh) {
        reload_refused("rules", "the running rules", d);
        return -1;
    }
    pthread_mutex_lock(&e->lock);
    old = e->snap;
    e->snap = fresh;
    pthread_mutex_unlock(&e->lock);
    snap_put(old);
    log_info("rules reloaded: %zu rules from %s", fresh->rules->nrules,
             e->cfg->rules.dir);
    return 0;
}

size_t engine_rule_count(struct engine *e)
{
    struct snap *s = snap_get(e);
    size_t n = s->rules->nrules;
    snap_put(s);
    return n;
}

void env_of(struct engine *e, struct snap *s, struct rconn *rc,
                   struct run_env *env)
{
    env->cfg = e->cfg;
    env->rules = s->rules;
    env->tmpls = s->tmpls;
    env->chans = e->chans;
    env->q = queue_open(e->cfg, rc); /* NULL: no memory; steps then fail */
}

void env_done(struct run_env *env)
{
    if (env->q)
        queue_close(env->q);
    env->q = NULL;
}

/* --- starting runs
 * ------------------------------------------------------------ */

/* Queues step `at` again after a transient failure. 0 or -1. */
static int requeue_step(struct run *r, size_t at)
{
    char id[192], *payload = run_job_payload(r, at);
    int got;

    if (!payload || !r->env->q || run_persist(r) < 0) {
        free(payload);
        return -1;
    }
    run_job_id(r, at, id, sizeof id);
    strncat(id, ":retry", sizeof id - strlen(id) - 1);
    got = queue_schedule(r->env->q, id, payload, strlen(payload),
                         r->env->cfg->queue.retry_base_ms);
    free(payload);
    return got < 0 ? -1 : 0;
}

/* After run_steps(): end, leave waiting, or hand a failed step to the
 * queue. Returns 0 or -1 (Redis). */
int settle_run(struct run *r, enum run_status st, size_t at, const char *err)
{
    switch (st) {
    case RUN_DONE:
        return run_end(r);
    case RUN_WAITING:
        return 0;
    case RUN_RETRY:
        return requeue_step(r, at);
    case RUN_HELD: /* not reached: runs outside a job never send */
        return 0;
    default:
        log_warnx("rule %s, student %s, step %zu: %s", r->rule->name,
                  r->student_id, at + 1, err);
        return -1;
    }
}

int begin_run(struct run *r)
{
    struct rconn *rc = r->rc;
    char err[256];
    size_t at = 0;
    int ret;

    if (holdout_keeps_out(r->rule->src, r->student_id)) { /* rules/holdout.h */
        if ((ret = holdout_record(r)) < 0)
            log_warnx("rule %s, student %s: recording the holdout: %s",
                      r->rule->name, r->student_id, rc->errstr);
    } else if ((ret = report_run_started(r, REPORT_TREATED)) < 0) {
        log_warnx("rule %s, student %s: counting the start: %s", r->rule->name,
                  r->student_id, rc->errstr); /* rules/report.h */
    } else {
        ret = settle_run(r, run_steps(r, 0, &at, err, sizeof err), at, err);
    }
    return ret;
}

void log_not_started(const struct run *r, int got, const char *why)
{
    if (got < 0)
        log_warnx("rule %s, student %s: %s", r->rule->name, r->student_id,
                  why);
    else
        log_debug("rule %s, student %s: not started: %s", r->rule->name,
                  r->student_id, why);
}

/* Starts rule for st if `when` holds (the view is loaded), as run id
 * (derived from what started it). Steps up to the first wait or message
 * step run here; those go to the queue. 0 or -1. */
int start_rule(const struct run_env *env, struct rconn *rc,
               const struct crule *rule, const struct student *st,
               struct rview *view, int chain, const char *id)
{
    struct run r;
    char why[256];
    int got, ret;

    if (!rule_when(rule, view))
        return 0;
    got = run_start(&r, env, rc, rule, st, chain, id, why, sizeof why);
    if (got <= 0) {
        log_not_started(&r, got, why);
        return got;
    }
    ret = begin_run(&r);
    run_free(&r);
    return ret;
}

enum student_need engine_wants(struct engine *e, const struct event *ev)
{
    enum student_need need = leads_wants(e->cfg, ev);
    struct snap *s;

    if (consent_confirm_wants(e->confirm, ev))
        return NEED_WHOLE;
    if (need == NEED_LOADED)
        return need;
    s = snap_get(e);
    if (ruleset_wants(s->rules, ev))
        need = NEED_HASH;
    snap_put(s);
    return need;
}

int engine_flush(struct engine *e, struct rconn *rc)
{
    struct queue *q;
    char err[256];
    int got = 0;

    pthread_mutex_lock(&e->defer_lock);
    if (run_defer_count(e->defer) > 0) {
        if (!(q = queue_open(e->cfg, rc))) {
            snprintf(err, sizeof err, "out of memory");
            got = -1;
        } else {
            got = run_defer_flush(e->defer, rc, q, err, sizeof err);
            queue_close(q);
        }
        if (got < 0)
            log_warnx("queueing the steps of a batch of events: %s", err);
    }
    pthread_mutex_unlock(&e->defer_lock);
    return got;
}

int engine_hook_flush(void *ctx, struct rconn *rc)
{
    return engine_flush(ctx, rc);
}

int engine_stage_rank(void *ctx, const char *stage)
{
    struct snap *s = snap_get(ctx);
    int rank = report_stage_rank(s->rules, stage);

    snap_put(s);
    return rank;
}

enum student_need engine_hook_wants(void *ctx, const struct event *ev)
{
    return engine_wants(ctx, ev);
}

int engine_hook_tags_wanted(void *ctx, const struct event_student *evs,
                            size_t n, unsigned char *want)
{
    return engine_tags_wanted(ctx, evs, n, want);
}

int engine_hook_send(void *ctx, struct rconn *rc,
                     const struct event_student *evs, size_t n, void **state)
{
    struct engine_batch *eb;
    int got = engine_batch_send(ctx, rc, evs, n, &eb);

    *state = eb;
    return got;
}

int engine_hook_finish(void *ctx, void *state)
{
    (void)ctx;
    return engine_batch_finish(state);
}

void engine_hook_drop(void *ctx, void *state)
{
    (void)ctx;
    engine_batch_drop(state);
}

/* --- schedules
 * ------------------------------------------------------------------- */

/* Queues one batch of a scan. 0 or -1. */
static int queue_batch(struct queue *q, const char *rule, int64_t fire,
                       int batch, json_t *ids)
{
    char id[QUEUE_ID_MAX];
    json_t *o = json_pack("{s:s, s:I, s:O}", "scan", rule, "fire",
                          (json_int_t)fire, "ids", ids);
    char *payload = o ? json_dumps(o, JSON_COMPACT) : NULL;
    int got = -1;

    snprintf(id, sizeof id, "scan:%s:%lld:%d", rule, (long long)fire, batch);
    if (payload)
        got = queue_schedule(q, id, payload, strlen(payload), 0);
    free(payload);
    json_decref(o);
    return got < 0 ? -1 : 0;
}

/* An id JSON cannot hold (not UTF-8) is left out, as before: one odd key
 * must not stop the firing for every other student. */
static int add_scan_id(void *ids, const char *id)
{
    json_array_append_new(ids, json_string(id));
    return 0;
}

/* SCANs every student hash (rules/scanload.h) and queues them in batches.
 * Returns the number of students, or -1. */
static long scan_students(struct engine *e, struct rconn *rc, struct queue *q,
                          const char *rule, int64_t fire)
{
    char cursor[STUDENTS_CURSOR_MAX] = "0";
    json_t *ids = json_array();
    long total = 0;
    int batch = 0;

    do {
        if (students_scan_page(rc, e->cfg->redis.prefix, cursor, add_scan_id,
                               ids) != 0) {
            json_decref(ids);
            return -1;
        }
        if (json_array_size(ids) >= SCAN_BATCH || strcmp(cursor, "0") == 0) {
            total += (long)json_array_size(ids);
            if (json_array_size(ids) &&
                queue_batch(q, rule, fire, batch++, ids) < 0) {
                json_decref(ids);
                return -1;
            }
            json_array_clear(ids);
        }
    } while (strcmp(cursor, "0") != 0);
    json_decref(ids);
    return total;
}

/* Claims the firing of rule at fire for this daemon: 1 won, 0 another
 * daemon has it, -1 error. */
static int claim_firing(struct engine *e, struct rconn *rc, const char *rule,
                        int64_t fire)
{
    char key[KEY_MAX], name[300];
    redisReply *rep;
    int won;

    snprintf(name, sizeof name, "sched:%s:%lld", rule, (long long)fire);
    key_global(key, sizeof key, e->cfg->redis.prefix, name);
    rep = rconn_cmd(
        rc, "SET %s %lld NX PX %lld", key, (long long)clock_now_ms(),
        (long long)(e->cfg->rules.schedule_grace_ms + 8LL * 86400 * 1000));
    if (!rep)
        return -1;
    won = rep->type == REDIS_REPLY_STATUS;
    reply_free(rep);
    return won;
}

int engine_tick(struct engine *e, struct rconn *rc, int64_t now_ms)
{
    struct snap *s = snap_get(e);
    struct queue *q = queue_open(e->cfg, rc);
    int fired = 0;

    for (size_t i = 0; q && i < s->rules->nscheduled && fired >= 0; i++) {
        const struct crule *r = &s->rules->rules[s->rules->scheduled[i]];
        int64_t fire = schedule_prev(&r->src->trig, now_ms);
        long n;
        if (fire < 0 || now_ms - fire > e->cfg->rules.schedule_grace_ms)
            continue;
        switch (claim_firing(e, rc, r->name, fire)) {
        case 1:
            break;
        case 0:
            continue;
        default:
            fired = -1;
            continue;
        }
        n = scan_students(e, rc, q, r->name, fire);
        if (n < 0) {
            log_warnx("schedule of rule %s: %s", r->name, rc->errstr);
            fired = -1;
            continue;
        }
        log_info("schedule of rule %s fired: %ld students queued", r->name, n);
        fired++;
    }
    snap_put(s);
    if (!q)
        return -1;
    queue_close(q);
    return fired;
}

/* --- the engine's thread
 * ------------------------------------------------------- */

/* True when a watched folder changed since the last call. */
static int files_changed(int fd)
{
    char buf[4096] __attribute__((aligned(8)));
    int changed = 0;

    while (fd >= 0 && read(fd, buf, sizeof buf) > 0)
        changed = 1;
    return changed;
}

static void *engine_main(void *arg)
{
    struct engine *e = arg;
    struct rconn *rc = rconn_new(e->cfg, e->stop);
    int pending = 0;
    int64_t last_tick = 0;

    while (rc && !*e->stop && !e->quit) {
        int64_t now = clock_now_ms();
        if (files_changed(e->watch)) {
            pending = 3; /* reload after 300 ms of quiet */
        } else if (pending && --pending == 0) {
            struct diag d = {0};
            engine_reload(e, &d);
            diag_clear(&d);
        }
        if (now - last_tick >= 1000 && rconn_ensure(rc) == 0) {
            last_tick = now;
            engine_tick(e, rc, now);
            digest_tick(e->cfg, rc, now);
        }
        clock_sleep_ms(100, e->stop);
    }
    if (rc)
        rconn_free(rc);
    return NULL;
}

int engine_start(struct engine *e, volatile int *stop)
{
    e->stop = stop;
    if (pthread_create(&e->thread, NULL, engine_main, e) != 0)
        return -1;
    e->started = 1;
    return 0;
}

void engine_stop(struct engine *e)
{
    if (!e->started)
        return;
    e->quit = 1;
    pthread_join(e->thread, NULL);
    e->started = 0;
}
