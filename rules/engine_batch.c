/*
 * engine_batch.c - the rule engine's part of a batch of events (see
 * engine.h), in as few round trips as the events allow.
 *
 * An event's Redis work is a leads script (a followup noted, a lead
 * moved or closed: rules/leads.h) and a start script per rule whose
 * `when` holds (rules/run.h); then, for each run that started, its
 * first steps. The scripts of the whole batch go out together, behind
 * the batch's own writes (the consumer's round trip: engine_batch_send),
 * and their replies are taken in the same order (engine_batch_finish);
 * only the runs that did start (a few in a batch: most find theirs
 * already going) then take round trips of their own. A start first asks
 * whether a run of its rule is going, and a followup whether its student
 * has an owner (an HGET each, where a script call costs Redis ten times
 * more); the scripts of those whose answer calls for one go out together
 * in one more round trip.
 *
 * Redis runs one connection's commands in order, so the scripts of
 * different students cannot tell they were sent together. One student's
 * events must still see each other as if handled one by one: once an
 * event of a student has queued a start (whose first steps run only in
 * finish), a question, or an opt-out confirmation, that student's later
 * events in the batch wait for another round, which repeats the same
 * two halves over them. Each round handles at least the first waiting
 * event of every student, so the rounds end; a batch whose events are
 * all one student's starts is the one-by-one handling of old.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/join.h"
#include "core/log.h"
#include "core/reply.h"
#include "rules/engine.h"
#include "rules/engine_int.h"
#include "rules/leads.h"

#define MAX_TRIGGERED 256

/* One event's piece of work, in the order of the events; most queue one
 * command, whose reply finish takes before acting on any. */
struct slot {
    enum { SLOT_LEADS, SLOT_START, SLOT_CONFIRM } kind;
    const struct event_student *es;
    int queued;      /* a command went out; rep is its reply */
    int again;       /* its script is to go out next (a question first) */
    redisReply *rep; /* owned until handed to its result function */
    int got;         /* SLOT_START: run_start_result()'s */
    struct leads_call leads;   /* SLOT_LEADS */
    struct start_part *start;  /* SLOT_START (a run is large: apart) */
    struct slot *next;         /* in the thread's pool */
};

struct start_part {
    struct run run;
    struct run_start_call call;
};

/* Slots done with, for the next batches of the same thread: a batch has
 * one for most followups, and taking them from malloc each time cost
 * more than their work. At most POOL_MAX are kept; the thread's exit
 * frees them (a pthread key's destructor). */
#define POOL_MAX 1024
struct pool {
    struct slot *head;
    size_t n;
};
static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void pool_free(void *p)
{
    struct pool *pl = p;

    while (pl->head) {
        struct slot *sl = pl->head;
        pl->head = sl->next;
        free(sl);
    }
    free(pl);
}

static void pool_key_init(void)
{
    pthread_key_create(&pool_key, pool_free);
}

/* This thread's pool; NULL on no memory (slots then come and go). */
static struct pool *thread_pool(void)
{
    struct pool *pl;

    pthread_once(&pool_once, pool_key_init);
    if ((pl = pthread_getspecific(pool_key)) == NULL &&
        (pl = calloc(1, sizeof *pl)) != NULL &&
        pthread_setspecific(pool_key, pl) != 0) {
        free(pl);
        pl = NULL;
    }
    return pl;
}

struct engine_batch {
    struct engine *e;
    struct snap *s;
    struct run_env env;
    struct rconn *rc;
    struct slot **slots; /* each allocated alone: a call points into itself */
    size_t nslots, cap;
    struct event_student *later; /* the events left for the next round */
    size_t nlater;
    /* The students whose next events wait (borrowed ids): a hash set,
     * open addressing, at most half full, as every event asks it. */
    const char **waiting;
    size_t wait_mask;
};

/* --- state ------------------------------------------------------------ */

/* Gives a slot back: to the pool, or to free(). */
static void slot_put(struct slot *sl)
{
    struct pool *pl = thread_pool();

    if (sl->rep)
        reply_free(sl->rep);
    if (sl->start) {
        if (sl->got == 1)
            run_free(&sl->start->run);
        free(sl->start);
    }
    if (!pl || pl->n >= POOL_MAX) {
        free(sl);
        return;
    }
    sl->next = pl->head;
    pl->head = sl;
    pl->n++;
}

static void batch_free(struct engine_batch *eb)
{
    if (!eb)
        return;
    for (size_t i = 0; i < eb->nslots; i++)
        slot_put(eb->slots[i]);
    free(eb->slots);
    free(eb->later);
    free(eb->waiting);
    env_done(&eb->env);
    snap_put(eb->s);
    free(eb);
}

static struct engine_batch *batch_new(struct engine *e, struct rconn *rc,
                                      size_t n)
{
    struct engine_batch *eb = calloc(1, sizeof *eb);

    if (!eb)
        return NULL;
    eb->e = e;
    eb->rc = rc;
    eb->s = snap_get(e);
    env_of(e, eb->s, rc, &eb->env);
    eb->later = malloc(n * sizeof *eb->later);
    eb->wait_mask = 1;
    while (eb->wait_mask < 2 * n)
        eb->wait_mask <<= 1;
    eb->waiting = calloc(eb->wait_mask--, sizeof *eb->waiting);
    if (!eb->later || !eb->waiting) {
        batch_free(eb);
        return NULL;
    }
    return eb;
}

/* A slot to fill: one from the pool, or a new one. NULL: no memory. */
static struct slot *slot_get(void)
{
    struct pool *pl = thread_pool();
    struct slot *sl = NULL;

    if (pl && pl->head) {
        sl = pl->head;
        pl->head = sl->next;
        pl->n--;
    }
    if (!sl && !(sl = malloc(sizeof *sl)))
        return NULL;
    sl->start = NULL;
    sl->queued = 0;
    sl->again = 0;
    sl->rep = NULL;
    sl->got = 0;
    return sl;
}

/* Adds sl (from slot_get) to the batch's work; on no memory it goes
 * back to the pool and -1 is returned. */
static int slot_add(struct engine_batch *eb, struct slot *sl, int kind,
                    const struct event_student *es)
{
    if (eb->nslots == eb->cap) {
        size_t cap = eb->cap ? 2 * eb->cap : 64;
        struct slot **grown = realloc(eb->slots, cap * sizeof *grown);
        if (!grown) {
            slot_put(sl);
            return -1;
        }
        eb->slots = grown;
        eb->cap = cap;
    }
    sl->kind = kind;
    sl->es = es;
    eb->slots[eb->nslots++] = sl;
    return 0;
}

/* The slot of student in the waiting set: where it is, or the empty one
 * where it would go. */
static const char **waiting_slot(const struct engine_batch *eb,
                                 const char *student)
{
    size_t i = (size_t)fnv1a64_str(student) & eb->wait_mask;

    while (eb->waiting[i] && strcmp(eb->waiting[i], student) != 0)
        i = (i + 1) & eb->wait_mask;
    return &eb->waiting[i];
}

static int is_waiting(const struct engine_batch *eb, const char *student)
{
    return *waiting_slot(eb, student) != NULL;
}

/* --- send: queue the batch's scripts ------------------------------------ */

/* Queues leads work for es, if it has any. 1 when its script may be
 * queued only later (a question first), 0, or -1. */
static int queue_leads(struct engine_batch *eb, const struct event_student *es)
{
    struct slot *sl = slot_get();

    if (!sl)
        return -1;
    if (!leads_event_prepare(&sl->leads, eb->e->cfg, es->ev, es->st)) {
        slot_put(sl); /* no work after all */
        return 0;
    }
    if (slot_add(eb, sl, SLOT_LEADS, es) < 0 ||
        leads_event_append(eb->rc, &sl->leads) < 0)
        return -1;
    sl->queued = 1;
    return sl->leads.owner_first;
}

/* Whether a `when` of the rules ev triggers may hold for st, whose tags
 * are not read yet. */
static int when_may_hold(const struct ruleset *rules, struct rview *view,
                         const struct event_student *es)
{
    size_t idx[MAX_TRIGGERED];
    size_t n = ruleset_triggered(rules, es->ev, idx, MAX_TRIGGERED);

    if (n > MAX_TRIGGERED)
        n = MAX_TRIGGERED;
    rview_load(view, es->st, clock_now_ms());
    for (size_t i = 0; i < n; i++)
        if (rule_when_may_hold(&rules->rules[idx[i]], view))
            return 1;
    return 0;
}

int engine_tags_wanted(struct engine *e, const struct event_student *evs,
                       size_t n, unsigned char *want)
{
    struct snap *s = snap_get(e);
    struct rview view;

    if (rview_init(&view, s->rules) < 0) {
        snap_put(s);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        want[i] = when_may_hold(s->rules, &view, &evs[i]);
    rview_free(&view);
    snap_put(s);
    return 0;
}

/* Queues the start of each rule es triggers whose `when` holds. Returns
 * how many, or -1. */
static int queue_starts(struct engine_batch *eb, const struct event_student *es,
                        int chain)
{
    const struct ruleset *rules = eb->s->rules;
    size_t idx[MAX_TRIGGERED], n;
    struct rview view;
    char id[48];
    int queued = 0;

    /* not loaded: no rule listened to it when it was read (a reload
     * since may have added one; the event is past for it); tags not
     * read: no `when` could hold (engine_tags_wanted()) */
    if (!es->st || es->st->tags_unread)
        return 0;
    n = ruleset_triggered(rules, es->ev, idx, MAX_TRIGGERED);
    if (n > MAX_TRIGGERED)
        n = MAX_TRIGGERED;
    if (n == 0)
        return 0;
    if (rview_init(&view, rules) < 0)
        return -1;
    rview_load(&view, es->st, clock_now_ms());
    /* The run's id is the event's: handled twice (nudged killed before
     * its XACK), the event finds the run it started. */
    join(id, sizeof id, "e", es->ev->id, NULL);
    for (size_t i = 0; i < n && queued >= 0; i++) {
        const struct crule *rule = &rules->rules[idx[i]];
        struct slot *sl;

        if (!rule_when(rule, &view))
            continue;
        if (!(sl = slot_get()) || slot_add(eb, sl, SLOT_START, es) < 0 ||
            !(sl->start = malloc(sizeof *sl->start))) {
            queued = -1;
            break;
        }
        run_start_prepare(&sl->start->run, &sl->start->call, &eb->env,
                          eb->rc, rule, es->st, chain, id);
        switch (run_start_append(&sl->start->run, &sl->start->call)) {
        case -1:
            queued = -1;
            break;
        case 1:
            sl->queued = 1;
            /* fallthrough */
        default:
            queued++;
        }
    }
    rview_free(&view);
    return queued;
}

/* One event's commands; its student's next events wait when it leaves
 * work for finish that they must come after. 0 or -1. */
static int queue_event(struct engine_batch *eb, const struct event_student *es)
{
    const struct config *cfg = eb->e->cfg;
    const char *chain_s = event_get(es->ev, "chain");
    int chain = chain_s ? atoi(chain_s) : 0, leads, starts = 0;

    if ((leads = queue_leads(eb, es)) < 0)
        return -1;
    if (chain > cfg->rules.max_chain) {
        log_warnx("event %s %s of student %s: a chain of %d rule-caused "
                  "events (max_chain %d): cut, no rule runs",
                  es->ev->id, es->ev->type, es->ev->student, chain,
                  cfg->rules.max_chain);
    } else {
        if ((starts = queue_starts(eb, es, chain)) < 0)
            return -1;
        /* The opt-out the consumer recorded for this reply, confirmed. */
        if (es->st && consent_confirm_wants(eb->e->confirm, es->ev)) {
            struct slot *sl = slot_get();
            if (!sl || slot_add(eb, sl, SLOT_CONFIRM, es) < 0)
                return -1;
            starts++;
        }
    }
    if (leads + starts > 0)
        *waiting_slot(eb, es->ev->student) = es->ev->student;
    return 0;
}

int engine_batch_send(struct engine *e, struct rconn *rc,
                      const struct event_student *evs, size_t n,
                      struct engine_batch **out)
{
    struct engine_batch *eb;

    *out = NULL;
    if (n == 0)
        return 0;
    if (!(eb = batch_new(e, rc, n)))
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct event_student *es = &evs[i];

        if (is_waiting(eb, es->ev->student)) {
            eb->later[eb->nlater++] = *es;
            continue;
        }
        if (queue_event(eb, es) < 0) {
            log_warnx("event %s %s of student %s: %s", es->ev->id,
                      es->ev->type, es->ev->student,
                      rc->errstr[0] ? rc->errstr : "out of memory");
            batch_free(eb);
            return -1;
        }
    }
    *out = eb;
    return 0;
}

/* --- finish: take the replies, then act ------------------------------- */

/* Every queued command's reply, before any is acted on: acting may take
 * round trips of its own. 0, or -1 when the connection failed. */
static int read_replies(struct engine_batch *eb)
{
    for (size_t i = 0; i < eb->nslots; i++) {
        struct slot *sl = eb->slots[i];
        if (!sl->queued)
            continue;
        sl->queued = 0;
        if (!(sl->rep = rconn_reply(eb->rc)))
            return -1;
    }
    return 0;
}

/* A leads command's outcome: done, or its script to send (again). 0 or
 * -1. */
static int take_leads(struct engine_batch *eb, struct slot *sl)
{
    const struct event *ev = sl->es->ev;
    redisReply *rep = sl->rep;
    int got;

    sl->rep = NULL; /* leads_event_result() frees it */
    got = leads_event_result(eb->rc, &sl->leads, rep);
    if (got == LEADS_AGAIN) {
        sl->again = 1;
    } else if (got < 0) {
        log_warnx("event %s %s of student %s: open leads not updated: %s",
                  ev->id, ev->type, ev->student, eb->rc->errstr);
        return -1;
    }
    return 0;
}

/* A start's outcome: started, not, or its script to send (again). 0, or
 * -1 when it failed. */
static int take_start(struct slot *sl)
{
    redisReply *rep = sl->rep;
    char why[256];

    sl->rep = NULL; /* run_start_result() frees it */
    sl->got = run_start_result(&sl->start->run, &sl->start->call, rep, why,
                               sizeof why);
    if (sl->got == RUN_START_AGAIN) {
        sl->again = 1;
        sl->got = 0;
    } else if (sl->got != 1) {
        log_not_started(&sl->start->run, sl->got, why);
    }
    return sl->got < 0 ? -1 : 0;
}

/* The outcome of each slot's reply (every slot's, or only those that
 * had one). 0, or -1 when one failed. */
static int take_results(struct engine_batch *eb, int answered_only)
{
    int status = 0;

    for (size_t i = 0; i < eb->nslots; i++) {
        struct slot *sl = eb->slots[i];

        if (answered_only && !sl->rep)
            continue;
        if ((sl->kind == SLOT_LEADS && take_leads(eb, sl) < 0) ||
            (sl->kind == SLOT_START && take_start(sl) < 0))
            status = -1;
    }
    return status;
}

/* The scripts that first answers called for (a followup's student has
 * an owner; no run of the rule is going), in one more round trip. 0 or
 * -1. */
static int ask_again(struct engine_batch *eb)
{
    size_t asked = 0;

    for (size_t i = 0; i < eb->nslots; i++) {
        struct slot *sl = eb->slots[i];
        int got;

        if (!sl->again)
            continue;
        sl->again = 0;
        got = sl->kind == SLOT_LEADS
                  ? leads_event_append(eb->rc, &sl->leads)
                  : run_start_append(&sl->start->run, &sl->start->call);
        if (got < 0)
            return -1;
        sl->queued = 1;
        asked++;
    }
    if (asked == 0)
        return 0;
    if (read_replies(eb) < 0)
        return -1;
    return take_results(eb, 1);
}

/* The runs that started go on, and opt-outs are confirmed, in order.
 * Stops at the first failure: the batch is then handled again, and
 * finds the runs it started. */
static int act(struct engine_batch *eb)
{
    struct engine *e = eb->e;
    int status = 0;

    pthread_mutex_lock(&e->defer_lock);
    eb->env.defer = e->defer;
    for (size_t i = 0; i < eb->nslots && status == 0; i++) {
        struct slot *sl = eb->slots[i];

        if (sl->kind == SLOT_START && sl->got == 1)
            status = begin_run(&sl->start->run) < 0 ? -1 : 0;
        else if (sl->kind == SLOT_CONFIRM)
            status = consent_confirm_on_event(e->confirm, eb->rc,
                                              eb->s->tmpls, sl->es->ev,
                                              sl->es->st);
    }
    eb->env.defer = NULL;
    pthread_mutex_unlock(&e->defer_lock);
    return status;
}

/* The events left waiting, as a round of their own: send and finish on
 * the same link (hiredis writes the queued commands when the first
 * reply is asked for). */
static int next_round(struct engine_batch *eb)
{
    struct engine_batch *next;

    if (eb->nlater == 0)
        return 0;
    if (engine_batch_send(eb->e, eb->rc, eb->later, eb->nlater, &next) < 0)
        return -1;
    return engine_batch_finish(next);
}

int engine_batch_finish(struct engine_batch *eb)
{
    int status;

    if (!eb)
        return 0;
    status = read_replies(eb);
    if (status == 0)
        status = take_results(eb, 0);
    if (status == 0)
        status = ask_again(eb);
    if (status == 0)
        status = act(eb);
    if (status == 0)
        status = next_round(eb);
    batch_free(eb);
    return status;
}

void engine_batch_drop(struct engine_batch *eb)
{
    batch_free(eb);
}
