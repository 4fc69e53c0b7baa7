/*
 * report.c - the writes of the report's counters (see report.h): each
 * appends its commands to a pipeline the caller already sends.
 */
#include "rules/report.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/student.h"
#include "core/tz.h"
#include "rules/compile.h"
#include "rules/defer.h"
#include "rules/run.h"
#include "rules/variant.h"

#define DAY_MS (86400LL * 1000)

const char *const report_metric_names[REPORT_NMETRICS] = {
    "started", "reached", "replied", "opted_out", "converted"};

/* --- keys ----------------------------------------------------------------- */

void report_day(const struct config *cfg, int64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(tz_to_local(cfg->delivery.timezone, ms) / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d", &tm);
}

void report_rules_key(char *buf, size_t n, const char *prefix)
{
    snprintf(buf, n, "%sreport:rules", prefix);
}

void report_index_key(char *buf, size_t n, const char *prefix, const char *rule,
                      const char *what)
{
    snprintf(buf, n, "%sreport:%s:%s", prefix, rule, what);
}

void report_set_key(char *buf, size_t n, const char *prefix, const char *rule,
                    const char *day, const char *arm, enum report_metric m)
{
    snprintf(buf, n, "%sreport:%s:%s:%s:%s", prefix, rule, day, arm,
             report_metric_names[m]);
}

static void exp_key(char *buf, size_t n, const char *prefix,
                    const char *student)
{
    key_student(buf, n, prefix, student, "exp");
}

void report_exposed_key(char *buf, size_t n, const char *prefix)
{
    key_global(buf, n, prefix, "report:exposed");
}

/* --- the commands --------------------------------------------------------- */

static void cmd3(struct resp *out, const char *a, const char *b, const char *c)
{
    resp_begin(out, 3);
    resp_str(out, a);
    resp_str(out, b);
    resp_str(out, c);
}

/* SADD of student to a count of the arm's start day. 1 reply. */
static int add_to(struct resp *out, const struct config *cfg, const char *rule,
                  const char *arm, int64_t started_ms, enum report_metric m,
                  const char *student)
{
    char key[KEY_MAX], day[16];

    report_day(cfg, started_ms, day, sizeof day);
    report_set_key(key, sizeof key, cfg->redis.prefix, rule, day, arm, m);
    cmd3(out, "SADD", key, student);
    return 1;
}

/*
 * The indexes (rules, days, arms) are the same for every start of a rule
 * and arm on a day: each daemon writes them once a minute at most, which
 * halves what a start costs Redis. A slot remembers the last triple
 * written to it; a triple that shares a slot with another is written
 * again, which is harmless.
 */
#define INDEX_SLOTS 256
#define INDEX_REFRESH_MS 60000

static struct {
    uint64_t h;
    int64_t at;
} index_seen[INDEX_SLOTS];
static pthread_mutex_t index_lock = PTHREAD_MUTEX_INITIALIZER;

/* 1 when this daemon wrote the indexes of (rule, day, arm) within the
 * last minute; else 0, and they count as written now. */
static int index_fresh(const char *rule, const char *day, const char *arm)
{
    uint64_t h = fnv1a64_more(FNV1A64_INIT, rule, strlen(rule) + 1);
    int64_t now = clock_now_ms();
    size_t slot;
    int fresh;

    h = fnv1a64_more(h, day, strlen(day) + 1);
    h = fnv1a64_more(h, arm, strlen(arm));
    slot = (size_t)(h % INDEX_SLOTS);
    pthread_mutex_lock(&index_lock);
    fresh = index_seen[slot].h == h && now >= index_seen[slot].at &&
            now - index_seen[slot].at < INDEX_REFRESH_MS;
    if (!fresh) {
        index_seen[slot].h = h;
        index_seen[slot].at = now;
    }
    pthread_mutex_unlock(&index_lock);
    return fresh;
}

/* A start in arm: the indexes (when not fresh), the count, and the
 * student's exp entry (field RULE, or "RULE variant" for a variant's
 * arm). Returns the replies queued. */
static int start_fmt(struct resp *out, const struct config *cfg,
                     const char *rule, const char *arm, const char *student,
                     int64_t started_ms, const char *stage)
{
    char key[KEY_MAX], day[16], field[200], value[300];
    int k = 3;

    report_day(cfg, started_ms, day, sizeof day);
    if (!index_fresh(rule, day, arm)) {
        report_rules_key(key, sizeof key, cfg->redis.prefix);
        cmd3(out, "SADD", key, rule);
        report_index_key(key, sizeof key, cfg->redis.prefix, rule, "days");
        cmd3(out, "SADD", key, day);
        report_index_key(key, sizeof key, cfg->redis.prefix, rule, "arms");
        cmd3(out, "SADD", key, arm);
        k += 3;
    }
    add_to(out, cfg, rule, arm, started_ms, REPORT_STARTED, student);
    snprintf(field, sizeof field, "%s%s", rule,
             strncmp(arm, REPORT_VARIANT, strlen(REPORT_VARIANT)) == 0
                 ? " variant"
                 : "");
    snprintf(value, sizeof value, "%s %lld %s", arm, (long long)started_ms,
             stage ? stage : "");
    exp_key(key, sizeof key, cfg->redis.prefix, student);
    resp_begin(out, 4);
    resp_str(out, "HSET");
    resp_str(out, key);
    resp_str(out, field);
    resp_str(out, value);
    /* kept while a reply or a stage may still count */
    resp_begin(out, 3);
    resp_str(out, "PEXPIRE");
    resp_str(out, key);
    resp_long(out, cfg->report.window_ms + DAY_MS);
    /* the index of students with an exp hash, to the same time (GT: a
     * variant's arm starts with its run, maybe days before another
     * rule's start, whose time must stay); each start drops those whose
     * time has passed, so it holds about the students started within a
     * window */
    report_exposed_key(key, sizeof key, cfg->redis.prefix);
    resp_begin(out, 5);
    resp_str(out, "ZADD");
    resp_str(out, key);
    resp_str(out, "GT");
    resp_long(out, started_ms + cfg->report.window_ms + DAY_MS);
    resp_str(out, student);
    resp_begin(out, 4);
    resp_str(out, "ZREMRANGEBYSCORE");
    resp_str(out, key);
    resp_str(out, "-inf");
    snprintf(value, sizeof value, "(%lld", (long long)started_ms);
    resp_str(out, value);
    return k + 2;
}

/* --- the engine ----------------------------------------------------------- */

int report_run_started(struct run *r, const char *arm)
{
    const struct config *cfg = r->env->cfg;
    struct resp own = {0}, *out;
    int k, errors;

    if (!cfg->report.counters)
        return 0;
    out = r->env->defer ? run_defer_more(r->env->defer, 0) : &own;
    k = start_fmt(out, cfg, r->rule->name, arm, r->student_id, r->started_ms,
                  student_get(r->st, "stage"));
    if (r->env->defer) {
        run_defer_more(r->env->defer, k);
        return 0;
    }
    errors = rconn_append_resp(r->rc, &own) < 0 ? -1 : rconn_discard(r->rc, k);
    resp_free(&own);
    return errors == 0 ? 0 : -1;
}

int report_run_reached_cmd(struct run *r, size_t step)
{
    const struct config *cfg = r->env->cfg;
    const struct step *s = r->rule->steps[step].src;
    struct resp out = {0};
    char arm[200];
    int k;

    if (!cfg->report.counters)
        return 0;
    k = add_to(&out, cfg, r->rule->name, REPORT_TREATED, r->started_ms,
               REPORT_REACHED, r->student_id);
    if (s->nvariants) {
        snprintf(arm, sizeof arm, "%s%s", REPORT_VARIANT,
                 variant_template(s, r->rule->name, step, r->student_id));
        k += start_fmt(&out, cfg, r->rule->name, arm, r->student_id,
                       r->started_ms, student_get(r->st, "stage"));
        k += add_to(&out, cfg, r->rule->name, arm, r->started_ms,
                    REPORT_REACHED, r->student_id);
    }
    if (rconn_append_resp(r->rc, &out) < 0)
        k = -1;
    resp_free(&out);
    return k;
}

/* --- the events consumer -------------------------------------------------- */

int report_wants_event(const struct config *cfg, const struct event *ev,
                       report_rank_fn rank, void *rank_ctx)
{
    if (!cfg->report.counters)
        return 0;
    /* a stage the `stages` line does not place converts no one */
    if (ev->kind == EV_STAGE)
        return rank && rank(rank_ctx, event_get(ev, "to")) >= 0;
    return ev->kind == EV_REPLY || ev->kind == EV_OPTOUT;
}

void report_exposed_ask(struct resp *out, const char *prefix, size_t n)
{
    char key[KEY_MAX];

    report_exposed_key(key, sizeof key, prefix);
    resp_begin(out, (int)n + 2);
    resp_str(out, "ZMSCORE");
    resp_str(out, key);
}

int report_exposed(const redisReply *score, int64_t now_ms)
{
    if (!score || score->type == REDIS_REPLY_NIL)
        return 0;
    if (score->type != REDIS_REPLY_STRING)
        return 1; /* not an answer: read the exp hash, as without the index */
    return strtod(score->str, NULL) > (double)now_ms;
}

void report_exp_read(struct resp *out, const char *prefix, const char *student)
{
    char key[KEY_MAX];

    exp_key(key, sizeof key, prefix, student);
    resp_begin(out, 2);
    resp_str(out, "HGETALL");
    resp_str(out, key);
}

int report_stage_rank(const struct ruleset *set, const char *stage)
{
    if (!stage)
        return -1;
    for (size_t f = 0; f < set->nfiles; f++)
        for (size_t i = 0; i < set->files[f]->nstages; i++)
            if (strcmp(set->files[f]->stages[i].name, stage) == 0)
                return (int)i;
    return -1;
}

/* One exp entry: its arm, start and stage, from "ARM START_MS STAGE".
 * 0, or -1 when it is not one. */
static int parse_entry(const char *value, char *arm, size_t n,
                       int64_t *started_ms, const char **stage)
{
    const char *sp = strchr(value, ' ');
    char *end;

    if (!sp || (size_t)(sp - value) >= n)
        return -1;
    memcpy(arm, value, (size_t)(sp - value));
    arm[sp - value] = '\0';
    *started_ms = strtoll(sp + 1, &end, 10);
    if (end == sp + 1)
        return -1;
    *stage = *end == ' ' ? end + 1 : "";
    return 0;
}

/* What ev counts as for a student who started at a stage: a bit per
 * metric (a reply that opts out is both). */
static unsigned metrics_of(const struct event *ev, int opted_out,
                           const char *start_stage, report_rank_fn rank,
                           void *ctx)
{
    unsigned bits = 0;
    int to;

    if (opted_out || ev->kind == EV_OPTOUT)
        bits |= 1u << REPORT_OPTED_OUT;
    if (ev->kind == EV_REPLY)
        bits |= 1u << REPORT_REPLIED;
    if (ev->kind == EV_STAGE && rank) {
        to = rank(ctx, event_get(ev, "to"));
        if (to >= 0 && to > rank(ctx, start_stage))
            bits |= 1u << REPORT_CONVERTED;
    }
    return bits;
}

int report_attribute(struct resp *out, const struct config *cfg,
                     const redisReply *exp, const struct event *ev,
                     int opted_out, report_rank_fn rank, void *rank_ctx,
                     int64_t now_ms)
{
    int64_t at = event_time_ms(ev, now_ms);
    int k = 0;

    if (!cfg->report.counters || !exp || exp->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i + 1 < exp->elements; i += 2) {
        const redisReply *f = exp->element[i], *v = exp->element[i + 1];
        char rule[200], arm[200];
        const char *stage, *sp;
        int64_t started;
        unsigned bits;

        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            parse_entry(v->str, arm, sizeof arm, &started, &stage) < 0)
            continue;
        /* counted within the window after the start, never before it */
        if (at < started || at - started > cfg->report.window_ms ||
            !(bits = metrics_of(ev, opted_out, stage, rank, rank_ctx)))
            continue;
        sp = strchr(f->str, ' ');
        snprintf(rule, sizeof rule, "%.*s",
                 (int)(sp ? (size_t)(sp - f->str) : strlen(f->str)), f->str);
        for (int m = 0; m < REPORT_NMETRICS; m++)
            if (bits & 1u << m)
                k += add_to(out, cfg, rule, arm, started, (enum report_metric)m,
                            ev->student);
    }
    return k;
}
