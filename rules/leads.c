/*
 * leads.c - open leads and who holds them (see leads.h).
 */
#include "rules/leads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/join.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/reply.h"
#include "core/worktime.h"

/* Moves the lead to a new holder. KEYS: student hash, slm:leads, the new
 * holder's set. ARGV: prefix, student, owner, now ms, "event" when the
 * CRM's `assigned` event asks (a replay of it, same owner, changes
 * nothing). Returns 1 moved, 0 nothing to do. */
#define TAKE_SCRIPT                                                         \
    "local old = redis.call('HGET', KEYS[2], ARGV[2])\n"                    \
    "if old == ARGV[3] and ARGV[5] == 'event' then return 0 end\n"          \
    "if old then\n"                                                         \
    "  redis.call('ZREM', ARGV[1] .. 'staff:' .. old .. ':leads', ARGV[2])\n" \
    "end\n"                                                                 \
    "redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])\n"                       \
    "redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])\n"                       \
    "redis.call('HSET', KEYS[1], 'owner', ARGV[3], '" FIELD_ASSIGNED_AT     \
    "', ARGV[4])\n"                                                         \
    "redis.call('HDEL', KEYS[1], '" FIELD_FIRST_FOLLOWUP_AT "')\n"          \
    "return 1\n"

static _Thread_local struct rscript take_script = {.source = TAKE_SCRIPT};

/* Closes the lead. KEYS: slm:leads. ARGV: prefix, student. Returns the
 * holder it had, or false. */
static _Thread_local struct rscript close_script = {
    .source =
        "local old = redis.call('HGET', KEYS[1], ARGV[2])\n"
        "if not old then return false end\n"
        "redis.call('ZREM', ARGV[1] .. 'staff:' .. old .. ':leads', ARGV[2])\n"
        "redis.call('HDEL', KEYS[1], ARGV[2])\n"
        "return old\n"};

/* Notes a followup. KEYS: student hash, slm:leads. ARGV: student, staff,
 * "any" or "owner" ([leads] followup_by), the followup's time (ms). The
 * owner's own followups are kept apart for followup_by = owner. Returns
 * the lead's assigned_at when this was its first followup that counts,
 * else -1. */
static _Thread_local struct rscript followup_script = {
    .source =
        "if redis.call('HGET', KEYS[1], 'owner') == ARGV[2] then\n"
        "  redis.call('HSET', KEYS[1], '" FIELD_OWNER_FOLLOWUP_AT "', "
        "ARGV[4])\n"
        "end\n"
        "local holder = redis.call('HGET', KEYS[2], ARGV[1])\n"
        "if not holder then return -1 end\n"
        "if ARGV[3] == 'owner' and holder ~= ARGV[2] then return -1 end\n"
        "if redis.call('HSETNX', KEYS[1], '" FIELD_FIRST_FOLLOWUP_AT "', "
        "ARGV[4]) == 0 then\n"
        "  return -1\n"
        "end\n"
        "return tonumber(redis.call('HGET', KEYS[1], '" FIELD_ASSIGNED_AT
        "') or '-1')\n"};

int leads_staff_key(char *buf, size_t n, const char *prefix, const char *id)
{
    int len = key_staff(buf, n, prefix, id);

    if (len < 0 || (size_t)len + 7 > n)
        return -1;
    memcpy(buf + len, ":leads", 7);
    return len + 6;
}

/* --- pure ---------------------------------------------------------------- */

/* Is word one of the space-separated words of list? */
static int in_list(const char *list, const char *word)
{
    size_t len = strlen(word);

    for (const char *p = list; *p;) {
        size_t w;
        p += strspn(p, " \t,");
        w = strcspn(p, " \t,");
        if (w == len && w > 0 && strncmp(p, word, len) == 0)
            return 1;
        p += w;
    }
    return 0;
}

int leads_closed(const struct config *cfg, const struct student *st,
                 char *why, size_t n)
{
    const char *stages = cfg->leads.open_stages, *tag = cfg->leads.closed_tag;
    const char *stage = student_get(st, "stage");

    if (stages && stages[strspn(stages, " \t,")] && stage && stage[0] &&
        !in_list(stages, stage)) {
        snprintf(why, n, "the lead is closed: stage %s is past the lead "
                         "stages (%s)", stage, stages);
        return 1;
    }
    if (tag && tag[0] && student_has_tag(st, tag)) {
        snprintf(why, n, "the lead is closed: tag \"%s\"", tag);
        return 1;
    }
    return 0;
}

int64_t leads_deadline(const struct config *cfg, int64_t assigned_ms)
{
    const struct lead_deadline *dl = &cfg->leads.followup_within;

    if (!dl->working)
        return assigned_ms + dl->ms;
    return worktime_wait_until(&cfg->worktime, assigned_ms, dl->ms,
                               dl->work_days);
}

int64_t leads_followup_ms(const struct config *cfg, const struct student *st)
{
    const char *v = student_get(st, cfg->leads.followup_by ==
                                            LEADS_FOLLOWUP_OWNER
                                        ? FIELD_OWNER_FOLLOWUP_AT
                                        : FIELD_FOLLOWUP_AT);

    return v && v[0] ? atoll(v) : -1;
}

/* --- writes --------------------------------------------------------------- */

int leads_take_cmd(struct rconn *rc, const char *prefix, const char *student,
                   const char *owner, int64_t now_ms)
{
    char skey[KEY_MAX], leads[KEY_MAX], held[KEY_MAX], now[24];

    if (key_student(skey, sizeof skey, prefix, student, NULL) < 0 ||
        key_global(leads, sizeof leads, prefix, "leads") < 0 ||
        leads_staff_key(held, sizeof held, prefix, owner) < 0)
        return -1;
    join_long(now, now_ms);
    /* EVAL, not EVALSHA: inside a MULTI there is no second chance after a
     * NOSCRIPT. */
    return rconn_append(rc, "EVAL %s 3 %s %s %s %s %s %s %s %s", TAKE_SCRIPT,
                        skey, leads, held, prefix, student, owner, now,
                        "rule");
}

static void observe_first_followup(double seconds)
{
    static const double buckets[] = {60,    300,    900,    1800,  3600,
                                     7200,  14400,  28800,  86400, 172800,
                                     604800};
    metric_observe(
        metric_histogram("nudge_lead_first_followup_seconds",
                         "Time from a lead's assignment to its first "
                         "followup that counts ([leads] followup_by)",
                         NULL, buckets, sizeof buckets / sizeof buckets[0]),
        seconds);
}

/* The CRM gave the lead to someone: book the move. */
static int prepare_assigned(struct leads_call *call, const char *prefix,
                            const struct event *ev)
{
    const char *owner = event_get(ev, "owner");

    /* A rule's assignment booked the lead with the owner (assign.c). */
    if (event_get(ev, "rule") || !owner || !key_valid_id(owner))
        return 0;
    if (key_student(call->skey, sizeof call->skey, prefix, ev->student,
                    NULL) < 0 ||
        key_global(call->leads, sizeof call->leads, prefix, "leads") < 0 ||
        leads_staff_key(call->held, sizeof call->held, prefix, owner) < 0)
        return 0;
    join_long(call->at, clock_now_ms());
    call->script = &take_script, call->nkeys = 3, call->argc = 8;
    call->argv[0] = call->skey, call->argv[1] = call->leads;
    call->argv[2] = call->held, call->argv[3] = prefix;
    call->argv[4] = ev->student, call->argv[5] = owner;
    call->argv[6] = call->at, call->argv[7] = "event";
    return 1;
}

static int prepare_followup(struct leads_call *call, const struct config *cfg,
                            const struct event *ev)
{
    const char *staff = event_get(ev, "staff");

    if (!staff)
        return 0;
    call->at_ms = event_time_ms(ev, clock_now_ms());
    key_student(call->skey, sizeof call->skey, cfg->redis.prefix, ev->student,
                NULL);
    key_global(call->leads, sizeof call->leads, cfg->redis.prefix, "leads");
    join_long(call->at, call->at_ms);
    call->script = &followup_script, call->nkeys = 2, call->argc = 6;
    call->argv[0] = call->skey, call->argv[1] = call->leads;
    call->argv[2] = ev->student, call->argv[3] = staff;
    call->argv[4] =
        cfg->leads.followup_by == LEADS_FOLLOWUP_OWNER ? "owner" : "any";
    call->argv[5] = call->at;
    /* No owner, no open lead (the take script sets both): a followup of
     * a student nobody holds is first asked about with one HGET, far
     * cheaper for Redis than a script call. */
    call->owner_first = 1;
    return 1;
}

static int prepare_closed(struct leads_call *call, const struct config *cfg,
                          const struct event *ev, const struct student *st)
{
    if (!leads_closed(cfg, st, call->why, sizeof call->why))
        return 0;
    key_global(call->leads, sizeof call->leads, cfg->redis.prefix, "leads");
    call->script = &close_script, call->nkeys = 1, call->argc = 3;
    call->argv[0] = call->leads, call->argv[1] = cfg->redis.prefix;
    call->argv[2] = ev->student;
    return 1;
}

int leads_event_prepare(struct leads_call *call, const struct config *cfg,
                        const struct event *ev, const struct student *st)
{
    enum student_need need = leads_wants(cfg, ev);

    call->ev = ev;
    call->owner_first = 0;
    if (need == NEED_NONE || (need == NEED_LOADED && !st))
        return 0;
    switch (ev->kind) {
    case EV_ASSIGNED:
        return prepare_assigned(call, cfg->redis.prefix, ev);
    case EV_FOLLOWUP:
        return prepare_followup(call, cfg, ev);
    default:
        return prepare_closed(call, cfg, ev, st);
    }
}

int leads_event_append(struct rconn *rc, struct leads_call *call)
{
    if (call->owner_first) {
        const char *argv[3] = {"HGET", call->skey, "owner"};
        return rconn_appendargv(rc, 3, argv, NULL);
    }
    return rconn_script_append(rc, call->script, call->nkeys, call->argc,
                               call->argv, NULL);
}

int leads_event_result(struct rconn *rc, struct leads_call *call,
                       redisReply *rep)
{
    const struct event *ev = call->ev;

    if (call->owner_first) {
        int owned = rep && rep->type == REDIS_REPLY_STRING;

        if (rep)
            reply_free(rep);
        call->owner_first = 0;
        return owned ? LEADS_AGAIN : 0;
    }
    if (!rep || rconn_noscript(rep)) { /* run here, which loads it */
        if (rep)
            reply_free(rep);
        rep = rconn_script(rc, call->script, call->nkeys, call->argc,
                           call->argv, NULL);
    }
    if (!rep)
        return -1;
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(rc->errstr, sizeof rc->errstr, "%s", rep->str);
        reply_free(rep);
        return -1;
    }
    if (call->script == &followup_script && rep->type == REDIS_REPLY_INTEGER &&
        rep->integer >= 0)
        observe_first_followup(call->at_ms > rep->integer
                                   ? (double)(call->at_ms - rep->integer) /
                                         1000.0
                                   : 0.0);
    if (call->script == &close_script && rep->type == REDIS_REPLY_STRING)
        log_info("student %s: %s; out of %s's open leads", ev->student,
                 call->why, rep->str);
    reply_free(rep);
    return 0;
}

enum student_need leads_wants(const struct config *cfg, const struct event *ev)
{
    const char *tag;

    switch (ev->kind) {
    case EV_ASSIGNED:
    case EV_FOLLOWUP:
        return NEED_EXISTS;
    case EV_STAGE:
        return cfg->leads.open_stages && cfg->leads.open_stages[0]
                   ? NEED_LOADED
                   : NEED_NONE;
    case EV_TAG:
        tag = event_get(ev, "tag");
        return cfg->leads.closed_tag && cfg->leads.closed_tag[0] && tag &&
                       strcmp(tag, cfg->leads.closed_tag) == 0
                   ? NEED_LOADED
                   : NEED_NONE;
    default:
        return NEED_NONE;
    }
}

void leads_count_assigned(const char *team)
{
    char labels[200];

    snprintf(labels, sizeof labels, "team=\"%s\"", team);
    metric_inc(metric_counter("nudge_leads_assigned_total",
                              "Leads assigned by rules, by team", labels));
}
