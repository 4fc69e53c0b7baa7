/*
 * assign.c - the `assign team T [by load]` step of a run. The members of
 * slm:team:{T} who are not away (slm:staff:S status = away) are the
 * candidates, sorted by id: round robin takes them in turn (an INCR on
 * slm:team:{T}:rr, shared by all daemons), `by load` takes the one with
 * the fewest open leads (rules/leads.h; ties go to the smaller id). With
 * nobody available the team's supervisor (slm:team:{T}:meta supervisor)
 * gets the lead; with no supervisor either the step is skipped.
 *
 * The owner, its bookkeeping (leads.h), the `assigned` event and the
 * timeline entry are one MULTI: a crash leaves all of them or none. The
 * consumer records no second entry for the event (it names its rule).
 */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/reply.h"
#include "rules/leads.h"
#include "rules/run.h"

/* A team member as the step sees them. */
struct member {
    const char *id;
    int known;      /* has a staff hash */
    int away;       /* status = away */
    long long open; /* open leads */
};

/* The team, read in one round trip. */
struct team {
    redisReply *ids; /* SMEMBERS: owns the ids */
    struct member *m;
    size_t n;
};

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct member *)a)->id,
                  ((const struct member *)b)->id);
}

static void team_free(struct team *t)
{
    if (t->ids)
        reply_free(t->ids);
    free(t->m);
    memset(t, 0, sizeof *t);
}

/* Reads each member's status and, for by_load, open leads (pipelined).
 * 0 or -1. */
static int read_members(struct rconn *rc, const char *prefix, struct team *t,
                        int by_load)
{
    char key[KEY_MAX];
    redisReply *rep;

    for (size_t k = 0; k < t->n; k++) {
        key_staff(key, sizeof key, prefix, t->m[k].id);
        if (rconn_append(rc, "HMGET %s status name", key) < 0)
            return -1;
        leads_staff_key(key, sizeof key, prefix, t->m[k].id);
        if (by_load && rconn_append(rc, "ZCARD %s", key) < 0)
            return -1;
    }
    for (size_t k = 0; k < t->n; k++) {
        struct member *m = &t->m[k];
        if (!(rep = rconn_reply(rc)))
            return -1;
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
            redisReply *status = rep->element[0], *name = rep->element[1];
            m->known = status->type == REDIS_REPLY_STRING ||
                       name->type == REDIS_REPLY_STRING;
            m->away = status->type == REDIS_REPLY_STRING &&
                      strcmp(status->str, "away") == 0;
        }
        reply_free(rep);
        if (!by_load)
            continue;
        if (!(rep = rconn_reply(rc)))
            return -1;
        m->open = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
        reply_free(rep);
    }
    return 0;
}

/* Loads team name's members, sorted by id (with their open leads when
 * by_load). 0 or -1. */
static int team_load(struct run *r, const char *name, int by_load,
                     struct team *t)
{
    const char *prefix = r->env->cfg->redis.prefix;
    char key[KEY_MAX];

    memset(t, 0, sizeof *t);
    key_team(key, sizeof key, prefix, name);
    if (!(t->ids = rconn_cmd(r->rc, "SMEMBERS %s", key)))
        return -1;
    if (t->ids->type != REDIS_REPLY_ARRAY || t->ids->elements == 0)
        return 0;
    if (!(t->m = calloc(t->ids->elements, sizeof *t->m)))
        return -1;
    for (size_t k = 0; k < t->ids->elements; k++)
        if (t->ids->element[k]->type == REDIS_REPLY_STRING &&
            key_valid_id(t->ids->element[k]->str))
            t->m[t->n++].id = t->ids->element[k]->str;
    qsort(t->m, t->n, sizeof *t->m, by_id);
    return read_members(r->rc, prefix, t, by_load);
}

/* Keeps the members who can take a lead; says why others cannot. */
static size_t available(struct team *t, const char *name)
{
    size_t n = 0;

    for (size_t k = 0; k < t->n; k++) {
        if (!t->m[k].known)
            log_warnx("team %s: member %s is not in Redis (no "
                      "slm:staff hash): no leads for them",
                      name, t->m[k].id);
        else if (!t->m[k].away)
            t->m[n++] = t->m[k];
    }
    return t->n = n;
}

/* The member with the fewest open leads; the first (smallest id) wins a
 * tie, so equal loads fill in id order. */
static const struct member *least_loaded(const struct team *t)
{
    const struct member *best = &t->m[0];

    for (size_t k = 1; k < t->n; k++)
        if (t->m[k].open < best->open)
            best = &t->m[k];
    return best;
}

/* The next member in turn. NULL on a Redis error. */
static const struct member *next_in_turn(struct run *r, const char *name,
                                         const struct team *t)
{
    char key[KEY_MAX + 8];
    redisReply *rep;
    long long turn;

    key_team(key, sizeof key, r->env->cfg->redis.prefix, name);
    strcat(key, ":rr");
    if (!(rep = rconn_cmd(r->rc, "INCR %s", key)))
        return NULL;
    turn = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 1;
    reply_free(rep);
    return &t->m[(size_t)((turn - 1) % (long long)t->n)];
}

/* The team's supervisor from slm:team:{T}:meta, checked to be staff:
 * 1 found (id filled), 0 none (why says so), -1 error. */
static int team_supervisor(struct run *r, const char *name, char *id,
                           size_t idn, char *why, size_t n)
{
    const char *prefix = r->env->cfg->redis.prefix;
    char key[KEY_MAX];
    redisReply *rep;
    long long known;

    key_team(key, sizeof key, prefix, name);
    strncat(key, ":meta", sizeof key - strlen(key) - 1);
    if (!(rep = rconn_cmd(r->rc, "HGET %s supervisor", key)))
        return -1;
    snprintf(id, idn, "%s", rep->type == REDIS_REPLY_STRING ? rep->str : "");
    reply_free(rep);
    if (!id[0] || !key_valid_id(id)) {
        snprintf(why, n, "and no supervisor (set supervisor in %.200s)", key);
        return 0;
    }
    key_staff(key, sizeof key, prefix, id);
    if (!(rep = rconn_cmd(r->rc, "EXISTS %s", key)))
        return -1;
    known = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
    reply_free(rep);
    if (!known) {
        snprintf(why, n, "and its supervisor %s is not in Redis", id);
        return 0;
    }
    return 1;
}

/* Gives the lead to owner: the owner, its bookkeeping, the event and the
 * timeline entry in one MULTI. 0 or -1. */
static int give_lead(struct run *r, size_t i, const struct step *s,
                     const char *owner, const char *detail)
{
    const struct config *cfg = r->env->cfg;
    struct tl_entry e;
    char actor[160];
    int errors;

    run_entry(r, i, "assigned", s, &e, actor, sizeof actor);
    e.detail = detail;
    if (rconn_append(r->rc, "MULTI") < 0 ||
        leads_take_cmd(r->rc, cfg->redis.prefix, r->student_id, owner,
                       clock_now_ms()) < 0 ||
        timeline_append_cmd(r->rc, cfg->redis.prefix, r->student_id,
                            cfg->redis.timeline_maxlen, &e) < 0 ||
        run_emit_event_cmd(r, "assigned", "owner", owner) < 0 ||
        rconn_append(r->rc, "EXEC") < 0)
        return -1;
    errors = rconn_exec_errors(r->rc, 4);
    if (errors > 0)
        snprintf(r->rc->errstr, sizeof r->rc->errstr,
                 "the assignment's MULTI failed");
    return errors == 0 ? 0 : -1;
}

/* Nobody in the team can take the lead: its supervisor does, or nobody. */
static enum step_result to_supervisor(struct run *r, size_t i,
                                      const struct step *s, const char *empty)
{
    char sup[160], why[300], detail[600];
    int got = team_supervisor(r, s->arg, sup, sizeof sup, why, sizeof why);

    if (got < 0)
        return ST_ERROR;
    if (got == 0) {
        snprintf(detail, sizeof detail, "assign: team %s %s, %s", s->arg,
                 empty, why);
        log_warnx("student %s, rule %s: %s", r->student_id, r->rule->name,
                  detail);
        run_record(r, i, "skipped", s, NULL, NULL, detail);
        run_count("skipped");
        return ST_NEXT;
    }
    snprintf(detail, sizeof detail,
             "%s: team %s %s; given to the team's supervisor", sup, s->arg,
             empty);
    log_info("student %s, rule %s: %s", r->student_id, r->rule->name, detail);
    if (give_lead(r, i, s, sup, detail) < 0)
        return ST_ERROR;
    leads_count_assigned(s->arg);
    return run_reload_student(r) < 0 ? ST_ERROR : ST_NEXT;
}

enum step_result run_assign(struct run *r, size_t i, const struct step *s)
{
    const struct member *pick;
    struct team t;
    char detail[600];
    size_t all;
    int got;

    if (team_load(r, s->arg, s->by_load, &t) < 0) {
        team_free(&t);
        return ST_ERROR;
    }
    all = t.n;
    if (available(&t, s->arg) == 0) {
        team_free(&t);
        return to_supervisor(r, i, s,
                             all ? "has nobody available (all away)"
                                 : "is empty");
    }
    pick = s->by_load ? least_loaded(&t) : next_in_turn(r, s->arg, &t);
    if (!pick) {
        team_free(&t);
        return ST_ERROR;
    }
    if (s->by_load)
        snprintf(detail, sizeof detail,
                 "%s: fewest open leads (%lld) in team %s", pick->id,
                 pick->open, s->arg);
    else
        snprintf(detail, sizeof detail, "%s: round robin in team %s",
                 pick->id, s->arg);
    got = give_lead(r, i, s, pick->id, detail);
    team_free(&t);
    if (got < 0)
        return ST_ERROR;
    leads_count_assigned(s->arg);
    return run_reload_student(r) < 0 ? ST_ERROR : ST_NEXT;
}
