/*
 * engine_int.h - what the rule engine's files share and nothing else
 * reads: the engine itself, the rule set a call uses, and the run helpers
 * that both the events path (engine.c) and the queue jobs (jobs.c) call.
 */
#ifndef NUDGE_RULES_ENGINE_INT_H
#define NUDGE_RULES_ENGINE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "rules/engine.h"
#include "rules/consent_confirm.h"
#include "rules/run.h"

/* One loaded rule set and its templates, shared by the calls that began
 * while it was current. */
struct snap {
    atomic_int refs;
    struct ruleset *rules;
    struct tmpl_set *tmpls;
    struct rules_env env;
};

struct engine {
    const struct config *cfg;
    struct channel_set *chans;
    pthread_mutex_t lock; /* guards snap */
    struct snap *snap;
    pthread_mutex_t defer_lock;      /* guards defer */
    struct run_defer *defer;         /* jobs of the events not yet flushed */
    struct consent_confirm *confirm; /* NULL: no opt-out confirmation */
    int watch;        /* inotify on the rules and templates folders, or -1 */
    pthread_t thread;
    int started;
    volatile int *stop;
    volatile int quit;
};

/* The current set, with a reference the caller gives back with
 * snap_put() (which frees the set when it was the last). */
struct snap *snap_get(struct engine *e);
void snap_put(struct snap *s);

/* What the steps of a call need (run.h): s's rules and templates, and a
 * queue handle on rc, which env_done() closes. */
void env_of(struct engine *e, struct snap *s, struct rconn *rc,
            struct run_env *env);
void env_done(struct run_env *env);

/* After run_steps(): end the run, leave it waiting, or hand a failed step
 * to the queue. 0 or -1 (Redis). */
int settle_run(struct run *r, enum run_status st, size_t at, const char *err);

/* A run that has just started (run_start): recorded as held out, or
 * counted as treated and its steps run up to the first wait or message
 * step (the jobs for those kept in env->defer). 0 or -1 (Redis). */
int begin_run(struct run *r);
/* Logs why run_start() did not start r (got 0: debug; -1: a warning). */
void log_not_started(const struct run *r, int got, const char *why);

/* Starts rule for st if `when` holds (the view is loaded), as run id
 * (derived from what started it); steps up to the first wait or message
 * step run here. 0 or -1. */
int start_rule(const struct run_env *env, struct rconn *rc,
               const struct crule *rule, const struct student *st,
               struct rview *view, int chain, const char *id);

#endif
