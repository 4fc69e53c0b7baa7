/*
 * alert.c - alert groups in Redis and the escalate step that fills them
 * (see alert.h). The job that sends a batch is alert_job.c.
 *
 * A group's timing is Alertmanager's: its next message goes out at
 * max(first waiting lead + group_wait, last message + group_interval).
 * The meta hash's `batch` is the batch waiting for its job (absent: none);
 * the add, freeze and finish scripts below are the only writers, so a
 * lead either joins the batch whose job will send it or starts the next.
 */
#include "rules/alert.h"
#include "rules/alert_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/reply.h"
#include "core/timeline.h"
#include "queues/delayed.h"
#include "rules/recipient.h"

/* Adds a lead to its group, unless it was alerted to the group within
 * repeat_interval. KEYS: meta, leads, info, alerted. ARGV: lead,
 * deadline, info, now, group_wait, group_interval, repeat_interval,
 * template, ttl. Returns {batch, due}, or {-1, when last alerted}. */
static _Thread_local struct rscript add_script = {
    .source =
        "local now = tonumber(ARGV[4])\n"
        "local rep = tonumber(ARGV[7])\n"
        "if rep > 0 then\n"
        "  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - rep)\n"
        "  local last = redis.call('ZSCORE', KEYS[4], ARGV[1])\n"
        "  if last then return {-1, tonumber(last)} end\n"
        "end\n"
        "if redis.call('EXISTS', KEYS[2]) == 0 then\n"
        "  redis.call('HSET', KEYS[1], 'first', ARGV[4])\n"
        "end\n"
        "redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])\n"
        "redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])\n"
        "local b = redis.call('HGET', KEYS[1], 'batch')\n"
        "local due\n"
        "if b then\n"
        "  due = tonumber(redis.call('HGET', KEYS[1], 'due'))\n"
        "else\n"
        "  b = redis.call('HINCRBY', KEYS[1], 'seq', 1)\n"
        "  local last = tonumber(redis.call('HGET', KEYS[1], 'last_sent')\n"
        "                        or '0')\n"
        "  due = math.max(now + tonumber(ARGV[5]), last + tonumber(ARGV[6]))\n"
        "  redis.call('HSET', KEYS[1], 'batch', b, 'due', due,\n"
        "             'template', ARGV[8])\n"
        "end\n"
        "for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[9]) end\n"
        "return {tonumber(b), due}\n"};

/* Moves the waiting leads into batch ARGV[1], once, noting when (ARGV[2],
 * ms): the time the batch's message is rendered as of, so that every
 * attempt renders the same text. KEYS: meta, leads, info, batch, batch
 * info. Returns that time, or 0 when ARGV[1] is not the pending batch. */
static _Thread_local struct rscript freeze_script = {
    .source =
        "if redis.call('HGET', KEYS[1], 'batch') ~= ARGV[1] then\n"
        "  return 0\n"
        "end\n"
        "if redis.call('HGET', KEYS[1], 'frozen') ~= ARGV[1] then\n"
        "  if redis.call('EXISTS', KEYS[2]) == 1 then\n"
        "    redis.call('RENAME', KEYS[2], KEYS[4])\n"
        "  end\n"
        "  if redis.call('EXISTS', KEYS[3]) == 1 then\n"
        "    redis.call('RENAME', KEYS[3], KEYS[5])\n"
        "  end\n"
        "  redis.call('HSET', KEYS[1], 'frozen', ARGV[1])\n"
        "  redis.call('HDEL', KEYS[1], 'frozen_at')\n"
        "end\n"
        "local at = redis.call('HGET', KEYS[1], 'frozen_at')\n"
        "if not at then\n"
        "  at = ARGV[2]\n"
        "  redis.call('HSET', KEYS[1], 'frozen_at', at)\n"
        "end\n"
        "return tonumber(at)\n"};

/* Settles batch ARGV[1] and opens the next one when leads wait. KEYS:
 * meta, leads, batch, batch info. ARGV: batch, now, sent (1/0),
 * group_wait, group_interval, ttl. Returns {next batch, due} or {0, 0}. */
static _Thread_local struct rscript finish_script = {
    .source =
        "if redis.call('HGET', KEYS[1], 'batch') ~= ARGV[1] then\n"
        "  return {0, 0}\n"
        "end\n"
        "redis.call('DEL', KEYS[3], KEYS[4])\n"
        "if ARGV[3] == '1' then\n"
        "  redis.call('HSET', KEYS[1], 'last_sent', ARGV[2])\n"
        "end\n"
        "redis.call('HDEL', KEYS[1], 'frozen', 'frozen_at', 'batch', 'due')\n"
        "if redis.call('EXISTS', KEYS[2]) == 0 then return {0, 0} end\n"
        "local b = redis.call('HINCRBY', KEYS[1], 'seq', 1)\n"
        "local last = tonumber(redis.call('HGET', KEYS[1], 'last_sent')\n"
        "                      or '0')\n"
        "local first = tonumber(redis.call('HGET', KEYS[1], 'first')\n"
        "                       or ARGV[2])\n"
        "local due = math.max(first + tonumber(ARGV[4]),\n"
        "                     last + tonumber(ARGV[5]))\n"
        "redis.call('HSET', KEYS[1], 'batch', b, 'due', due)\n"
        "redis.call('PEXPIRE', KEYS[1], ARGV[6])\n"
        "return {b, due}\n"};

/* --- names ---------------------------------------------------------------- */

/* A group's meta key leaves this much room for its other keys' suffixes
 * (":batch:" and a number). */
#define META_MAX (KEY_MAX - 40)

/* snprintf that says whether it all fitted. */
static int fits(int len, size_t n)
{
    return len >= 0 && (size_t)len < n;
}

int alert_group_init(struct alert_group *g, const char *prefix,
                     const char *staff, long level, const char *channel)
{
    memset(g, 0, sizeof *g);
    g->level = level;
    if (!fits(snprintf(g->staff, sizeof g->staff, "%s", staff),
              sizeof g->staff) ||
        !fits(snprintf(g->channel, sizeof g->channel, "%s", channel),
              sizeof g->channel) ||
        !fits(snprintf(g->id, sizeof g->id, "%s:%ld:%s", staff, level,
                       channel),
              sizeof g->id) ||
        !fits(snprintf(g->meta, sizeof g->meta, "%salert:{%s}", prefix,
                       g->id),
              META_MAX)) /* room for the suffixes */
        return -1;
    snprintf(g->leads, sizeof g->leads, "%.*s:leads", META_MAX, g->meta);
    snprintf(g->info, sizeof g->info, "%.*s:lead", META_MAX, g->meta);
    snprintf(g->alerted, sizeof g->alerted, "%.*s:alerted", META_MAX,
             g->meta);
    return 0;
}

int alert_batch_key(const struct alert_group *g, long long b,
                    const char *part, char *buf, size_t n)
{
    return fits(snprintf(buf, n, "%.*s:%s:%lld", META_MAX, g->meta, part, b),
                n)
               ? 0
               : -1;
}

int64_t alert_keys_ttl(const struct config *cfg)
{
    return cfg->alerts.group_wait_ms + cfg->alerts.group_interval_ms +
           cfg->alerts.repeat_interval_ms + RUN_SEND_RECORD_TTL_MS;
}

/* --- the scripts ------------------------------------------------------------ */

/* Runs a script whose answer is {a, b}. 0, or -1 (rc->errstr). */
static int script_pair(struct rconn *rc, struct rscript *s, int nkeys,
                       int argc, const char **argv, long long *a,
                       long long *b)
{
    redisReply *rep = rconn_script(rc, s, nkeys, argc, argv, NULL);
    int ok = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
             rep->element[0]->type == REDIS_REPLY_INTEGER &&
             rep->element[1]->type == REDIS_REPLY_INTEGER;

    if (ok) {
        *a = rep->element[0]->integer;
        *b = rep->element[1]->integer;
    } else if (rep && rep->type == REDIS_REPLY_ERROR) {
        snprintf(rc->errstr, sizeof rc->errstr, "%s", rep->str);
    } else if (rep) {
        snprintf(rc->errstr, sizeof rc->errstr, "unexpected script reply");
    }
    if (rep)
        reply_free(rep);
    return ok ? 0 : -1;
}

int alert_schedule(struct rconn *rc, const struct config *cfg,
                   const struct alert_group *g, long long b, int64_t due_ms)
{
    struct queue *q = queue_open(cfg, rc);
    char id[QUEUE_ID_MAX], *payload;
    json_t *o;
    int got = -1;

    if (!q)
        return -1;
    snprintf(id, sizeof id, "alert:%s:%lld", g->id, b);
    o = json_pack("{s:s, s:s, s:I, s:s, s:I}", "alert", g->id, "staff",
                  g->staff, "level", (json_int_t)g->level, "channel",
                  g->channel, "batch", (json_int_t)b);
    payload = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (payload)
        got = queue_schedule_at(q, id, payload, strlen(payload), due_ms);
    if (got < 0)
        snprintf(rc->errstr, sizeof rc->errstr, "queueing an alert: %.200s",
                 payload ? queue_error(q) : "out of memory");
    free(payload);
    json_decref(o);
    queue_close(q);
    return got < 0 ? -1 : 0;
}

/* Queues the job of the group's pending batch again (it may have been
 * lost between a script and its queueing: nudged killed). 0 or -1. */
static int reschedule_pending(struct rconn *rc, const struct config *cfg,
                              const struct alert_group *g)
{
    redisReply *rep = rconn_cmd(rc, "HMGET %s batch due", g->meta);
    long long b = 0, due = 0;

    if (!rep)
        return -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
        rep->element[0]->type == REDIS_REPLY_STRING &&
        rep->element[1]->type == REDIS_REPLY_STRING) {
        b = atoll(rep->element[0]->str);
        due = atoll(rep->element[1]->str);
    }
    reply_free(rep);
    return b > 0 ? alert_schedule(rc, cfg, g, b, due) : 0;
}

int64_t alert_freeze(struct rconn *rc, const struct config *cfg,
                     const struct alert_group *g, long long b)
{
    char batch[KEY_MAX], binfo[KEY_MAX], bs[24], now[24];
    const char *argv[7];
    redisReply *rep;
    int64_t got = -1;

    alert_batch_key(g, b, "batch", batch, sizeof batch);
    alert_batch_key(g, b, "info", binfo, sizeof binfo);
    snprintf(bs, sizeof bs, "%lld", b);
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    argv[0] = g->meta, argv[1] = g->leads, argv[2] = g->info;
    argv[3] = batch, argv[4] = binfo, argv[5] = bs, argv[6] = now;
    rep = rconn_script(rc, &freeze_script, 5, 7, argv, NULL);
    if (rep && rep->type == REDIS_REPLY_INTEGER)
        got = rep->integer;
    else if (rep && rep->type == REDIS_REPLY_ERROR)
        snprintf(rc->errstr, sizeof rc->errstr, "%s", rep->str);
    if (rep)
        reply_free(rep);
    if (got == 0 && reschedule_pending(rc, cfg, g) < 0)
        return -1;
    return got;
}

int alert_finish(struct rconn *rc, const struct config *cfg,
                 const struct alert_group *g, long long b, int sent)
{
    char batch[KEY_MAX], binfo[KEY_MAX], bs[24], now[24], gw[24], gi[24];
    char ttl[24];
    const char *argv[10];
    long long next, due;

    alert_batch_key(g, b, "batch", batch, sizeof batch);
    alert_batch_key(g, b, "info", binfo, sizeof binfo);
    snprintf(bs, sizeof bs, "%lld", b);
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    snprintf(gw, sizeof gw, "%lld", (long long)cfg->alerts.group_wait_ms);
    snprintf(gi, sizeof gi, "%lld", (long long)cfg->alerts.group_interval_ms);
    snprintf(ttl, sizeof ttl, "%lld", (long long)alert_keys_ttl(cfg));
    argv[0] = g->meta, argv[1] = g->leads, argv[2] = batch, argv[3] = binfo;
    argv[4] = bs, argv[5] = now, argv[6] = sent ? "1" : "0";
    argv[7] = gw, argv[8] = gi, argv[9] = ttl;
    if (script_pair(rc, &finish_script, 4, 10, argv, &next, &due) < 0)
        return -1;
    return next > 0 ? alert_schedule(rc, cfg, g, next, due) : 0;
}

/* --- the escalate step ------------------------------------------------------ */

static void count_escalation(long level)
{
    char labels[48];

    snprintf(labels, sizeof labels, "level=\"%ld\"", level);
    metric_inc(metric_counter("nudge_escalations_total",
                              "Leads escalated (added to an alert group), "
                              "by level",
                              labels));
}

/* Whether step i already escalated (a retried or replayed job): 1, 0,
 * -1. The record the job's first read claimed is this step's own. */
static int escalated_before(struct run *r, size_t i, const char *record)
{
    redisReply *rep;
    int done;

    if (r->pre.step == i && r->pre.record >= 0) {
        int created = r->pre.record;
        r->pre.record = -1;
        if (created)
            return 0; /* claimed just now: nothing before */
    }
    if (!(rep = rconn_cmd(r->rc, "GET %s", record)))
        return -1;
    done = rep->type == REDIS_REPLY_STRING &&
           (strncmp(rep->str, "escalated", 9) == 0 ||
            strncmp(rep->str, "skipped", 7) == 0);
    reply_free(rep);
    return done;
}

/* The step's record and timeline entry in one MULTI. 0 or -1. */
static int write_escalation(struct run *r, const char *record,
                            const char *state, const struct tl_entry *e)
{
    const struct config *cfg = r->env->cfg;

    if (rconn_append(r->rc, "MULTI") < 0 ||
        rconn_append(r->rc, "SET %s %s PX %lld", record, state,
                     (long long)RUN_SEND_RECORD_TTL_MS) < 0 ||
        timeline_append_cmd(r->rc, cfg->redis.prefix, r->student_id,
                            cfg->redis.timeline_maxlen, e) < 0 ||
        rconn_append(r->rc, "EXEC") < 0)
        return -1;
    return rconn_exec_errors(r->rc, 3) == 0 ? 0 : -1;
}

/* Adds the lead to g: {batch, due} or {-1, last alerted}. 0 or -1. */
static int join_group(struct run *r, size_t i, const struct step *s,
                      const struct alert_group *g, long long *b,
                      long long *due)
{
    const struct config *cfg = r->env->cfg;
    char deadline[24], now[24], gw[24], gi[24], rep[24], ttl[24], *info;
    const char *argv[13];
    json_t *o;
    int got;

    o = json_pack("{s:s, s:I, s:s, s:I}", "rule", r->rule->name, "step",
                  (json_int_t)i, "run", r->id, "started",
                  (json_int_t)r->started_ms);
    if (!o || !(info = json_dumps(o, JSON_COMPACT))) {
        json_decref(o);
        snprintf(r->rc->errstr, sizeof r->rc->errstr, "out of memory");
        return -1;
    }
    json_decref(o);
    /* The deadline passed when the step's job fell due. */
    snprintf(deadline, sizeof deadline, "%lld",
             (long long)(r->job ? r->job->due_ms : clock_now_ms()));
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    snprintf(gw, sizeof gw, "%lld", (long long)cfg->alerts.group_wait_ms);
    snprintf(gi, sizeof gi, "%lld", (long long)cfg->alerts.group_interval_ms);
    snprintf(rep, sizeof rep, "%lld",
             (long long)cfg->alerts.repeat_interval_ms);
    snprintf(ttl, sizeof ttl, "%lld", (long long)alert_keys_ttl(cfg));
    argv[0] = g->meta, argv[1] = g->leads, argv[2] = g->info;
    argv[3] = g->alerted, argv[4] = r->student_id, argv[5] = deadline;
    argv[6] = info, argv[7] = now, argv[8] = gw, argv[9] = gi;
    argv[10] = rep, argv[11] = s->tmpl, argv[12] = ttl;
    got = script_pair(r->rc, &add_script, 4, 13, argv, b, due);
    free(info);
    return got;
}

/* The lead goes into the group of who's target: the step's outcome. */
static enum step_result escalate_to(struct run *r, size_t i,
                                    const struct step *s, struct channel *ch,
                                    const struct recipient *who,
                                    const char *record)
{
    const struct config *cfg = r->env->cfg;
    struct alert_group g;
    struct tl_entry e;
    char actor[160], detail[400], state[400];
    long long b, due;
    const char *type = "escalated";

    if (alert_group_init(&g, cfg->redis.prefix, who->target->id, s->level,
                         ch->name) < 0) {
        run_record(r, i, "failed", s, NULL, NULL,
                   "the staff id and channel name are too long for a group");
        run_count("failed");
        return ST_NEXT;
    }
    if (join_group(r, i, s, &g, &b, &due) < 0)
        return ST_ERROR;
    if (b < 0) {
        type = "skipped";
        snprintf(detail, sizeof detail,
                 "level %ld: staff %s was alerted about this lead %llds ago "
                 "(repeat_interval %llds): not alerted again",
                 s->level, g.staff, (clock_now_ms() - due) / 1000,
                 (long long)cfg->alerts.repeat_interval_ms / 1000);
        snprintf(state, sizeof state, "skipped repeat");
    } else {
        if (alert_schedule(r->rc, cfg, &g, b, due) < 0)
            return ST_ERROR;
        snprintf(detail, sizeof detail,
                 "level %ld to staff %s: in their next alert on %s "
                 "(batch %lld, due in %llds)",
                 s->level, g.staff, ch->name, b,
                 due > clock_now_ms() ? (due - clock_now_ms() + 999) / 1000
                                      : 0);
        snprintf(state, sizeof state, "escalated %s %lld", g.id, b);
    }
    run_entry(r, i, type, s, &e, actor, sizeof actor);
    e.channel = ch->name;
    e.to = who->to;
    e.detail = detail;
    if (write_escalation(r, record, state, &e) < 0)
        return ST_ERROR;
    run_count(type);
    if (b >= 0)
        count_escalation(s->level);
    return ST_NEXT;
}

enum step_result alert_escalate(struct run *r, size_t i, const struct step *s,
                                struct channel *ch)
{
    const struct config *cfg = r->env->cfg;
    struct recipient who;
    char record[KEY_MAX];
    enum step_result st = ST_NEXT;
    int got;

    if ((got = run_reach(r, i, s, ch, &who)) <= 0)
        return got < 0 ? ST_ERROR : ST_NEXT;
    run_send_record_key(cfg->redis.prefix, r->student_id, r->id, i, 0, record,
                        sizeof record);
    got = escalated_before(r, i, record);
    if (got < 0)
        st = ST_ERROR;
    else if (got == 0)
        st = escalate_to(r, i, s, ch, &who, record);
    recipient_clear(&who);
    return st;
}

int alert_is_job(const json_t *o)
{
    return json_is_string(json_object_get(o, "alert"));
}
