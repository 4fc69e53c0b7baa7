/*
 * digest.c - the supervisors' daily digest: its firing and the count of
 * each team's day (see digest.h). The message and its send are
 * digest_send.c.
 */
#include "rules/digest.h"
#include "rules/digest_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/keys.h"
#include "core/log.h"
#include "core/reply.h"
#include "queues/delayed.h"
#include "rules/delivery.h"

#define DAY_MS (86400LL * 1000)
#define DIGEST_SLOWEST 3
/* The firing's claim outlives the grace in which a daemon could fire. */
#define FIRED_TTL_MS (3 * DAY_MS)

/* One staff member and their leads' day. */
struct member {
    char *id, *name, *supervisor;
    long news, in_time, overdue, open, followed;
    int64_t followup_ms; /* summed: assignment to first followup */
};

struct staff_table {
    struct member *v;
    size_t n, cap;
};

/* --- the firing -------------------------------------------------------------- */

/* The engine's thread is the only caller: the last firing it queued. */
static _Thread_local int64_t last_fire;

/* The latest firing at or before now_ms (UTC ms) and its local day. */
static int64_t latest_firing(const struct config *cfg, int64_t now_ms,
                             char *day, size_t n)
{
    int hh = atoi(cfg->digest.at), mm = atoi(cfg->digest.at + 3);
    int64_t off = (int64_t)tz_offset(cfg->delivery.timezone, now_ms) * 1000;
    int64_t local = now_ms + off;
    int64_t fire = local - local % DAY_MS + (hh * 3600LL + mm * 60) * 1000;
    time_t secs;
    struct tm tm;

    if (fire > local)
        fire -= DAY_MS;
    secs = (time_t)(fire / 1000);
    gmtime_r(&secs, &tm);
    strftime(day, n, "%Y-%m-%d", &tm);
    return fire - off;
}

static int queue_scan(const struct config *cfg, struct rconn *rc,
                      const char *day, int64_t fire)
{
    struct queue *q = queue_open(cfg, rc);
    json_t *o = json_pack("{s:s, s:I, s:I}", "digest", day, "since",
                          (json_int_t)(fire - DAY_MS), "until",
                          (json_int_t)fire);
    char *payload = o ? json_dumps(o, JSON_COMPACT) : NULL, id[64];
    int got = -1;

    snprintf(id, sizeof id, "digest:%s", day);
    if (q && payload)
        got = queue_schedule(q, id, payload, strlen(payload), 0);
    free(payload);
    json_decref(o);
    if (q)
        queue_close(q);
    return got < 0 ? -1 : 0;
}

int digest_tick(const struct config *cfg, struct rconn *rc, int64_t now_ms)
{
    char day[16], key[KEY_MAX], name[64];
    redisReply *rep;
    int64_t fire;
    int won;

    if (!cfg->digest.at[0])
        return 0;
    fire = latest_firing(cfg, now_ms, day, sizeof day);
    if (fire == last_fire || now_ms - fire > cfg->rules.schedule_grace_ms)
        return 0;
    snprintf(name, sizeof name, "digest:%s:fired", day);
    key_global(key, sizeof key, cfg->redis.prefix, name);
    if (!(rep = rconn_cmd(rc, "SET %s %lld NX PX %lld", key, (long long)now_ms,
                          (long long)FIRED_TTL_MS)))
        return -1;
    won = rep->type == REDIS_REPLY_STATUS;
    reply_free(rep);
    if (won && queue_scan(cfg, rc, day, fire) < 0) {
        log_warnx("digest of %s: queueing it failed (tried again): %s", day,
                  rc->errstr);
        if ((rep = rconn_cmd(rc, "DEL %s", key)))
            reply_free(rep);
        return -1;
    }
    last_fire = fire;
    if (!won)
        return 0;
    log_info("digest of %s: queued", day);
    return 1;
}

/* --- the staff ---------------------------------------------------------------- */

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct member *)a)->id,
                  ((const struct member *)b)->id);
}

static struct member *find_member(struct staff_table *t, const char *id)
{
    struct member key = {.id = (char *)id};

    return id ? bsearch(&key, t->v, t->n, sizeof *t->v, by_id) : NULL;
}

static void staff_table_free(struct staff_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].id);
        free(t->v[i].name);
        free(t->v[i].supervisor);
    }
    free(t->v);
}

static const char *str_of(const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING ? r->str : "";
}

static int add_member(struct staff_table *t, const char *id,
                      const redisReply *fields)
{
    struct member *m;

    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct member *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return -1;
        t->v = v;
        t->cap = cap;
    }
    m = &t->v[t->n];
    memset(m, 0, sizeof *m);
    m->id = strdup(id);
    m->name = strdup(str_of(fields->element[0]));
    m->supervisor = strdup(str_of(fields->element[1]));
    if (!m->id || !m->name || !m->supervisor) {
        free(m->id);
        free(m->name);
        free(m->supervisor);
        return -1;
    }
    t->n++;
    return 0;
}

/* Reads one SCAN page's keys with the pipelined reads each needs: the
 * caller's `queue` appends them, `take` reads them. 0 or -1. */
typedef int (*page_fn)(struct rconn *rc, const redisReply *keys, void *ctx);

static int scan_pages(struct rconn *rc, const char *pattern, page_fn each,
                      void *ctx)
{
    char cursor[32] = "0";
    int got = 0;

    do {
        redisReply *rep = rconn_cmd(
            rc, "SCAN %s MATCH %s COUNT 500 TYPE hash", cursor, pattern);
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
            if (rep)
                reply_free(rep);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        got = each(rc, rep->element[1], ctx);
        reply_free(rep);
    } while (got == 0 && strcmp(cursor, "0") != 0);
    return got;
}

struct staff_scan {
    struct staff_table *t;
    size_t plen; /* of prefix + "staff:" */
};

static int staff_page(struct rconn *rc, const redisReply *keys, void *ctx)
{
    struct staff_scan *sc = ctx;
    int got = 0;

    for (size_t i = 0; i < keys->elements; i++)
        if (rconn_append(rc, "HMGET %s name supervisor",
                         keys->element[i]->str) < 0)
            return -1;
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *rep = rconn_reply(rc);
        if (!rep)
            return -1;
        if (got == 0 && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2)
            got = add_member(sc->t, keys->element[i]->str + sc->plen, rep);
        reply_free(rep);
    }
    return got;
}

static int load_staff(struct rconn *rc, const char *prefix,
                      struct staff_table *t)
{
    char pattern[KEY_MAX];
    struct staff_scan sc = {t, strlen(prefix) + strlen("staff:")};

    snprintf(pattern, sizeof pattern, "%sstaff:*", prefix);
    if (scan_pages(rc, pattern, staff_page, &sc) < 0)
        return -1;
    qsort(t->v, t->n, sizeof *t->v, by_id);
    return 0;
}

/* --- the students' day ----------------------------------------------------------- */

struct student_scan {
    struct staff_table *t;
    long long since, until;
};

/* The value of field in a stream entry's field list, or NULL. */
static const char *entry_field(const redisReply *fields, const char *field)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (strcmp(str_of(fields->element[i]), field) == 0)
            return str_of(fields->element[i + 1]);
    return NULL;
}

/* Counts one student's timeline of the window for their owner. */
static void count_student(struct staff_table *t, const char *owner,
                          const redisReply *entries)
{
    struct member *m = find_member(t, owner);
    int64_t assigned = 0, followup = 0, escalated = 0;

    if (!m || entries->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        const char *type;
        int64_t ms;
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            !(type = entry_field(e->element[1], "type")))
            continue;
        ms = strtoll(str_of(e->element[0]), NULL, 10);
        if (strcmp(type, "assigned") == 0 && !assigned)
            assigned = ms;
        else if (strcmp(type, "followup") == 0 && assigned && !followup)
            followup = ms;
        else if (strcmp(type, "escalated") == 0 && !escalated)
            escalated = ms;
    }
    if (assigned) {
        m->news++;
        if (followup) {
            m->followed++;
            m->followup_ms += followup - assigned;
            m->in_time += !escalated || followup < escalated;
        } else {
            m->open++;
        }
    }
    m->overdue += escalated != 0;
}

static int student_page(struct rconn *rc, const redisReply *keys, void *ctx)
{
    struct student_scan *sc = ctx;

    for (size_t i = 0; i < keys->elements; i++) {
        const char *key = keys->element[i]->str;
        if (rconn_append(rc, "HGET %s owner", key) < 0 ||
            rconn_append(rc, "XRANGE %s:timeline %lld %lld COUNT 1000", key,
                         sc->since, sc->until) < 0)
            return -1;
    }
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *owner = rconn_reply(rc), *entries = NULL;
        if (!owner || !(entries = rconn_reply(rc))) {
            if (owner)
                reply_free(owner);
            return -1;
        }
        if (owner->type == REDIS_REPLY_STRING)
            count_student(sc->t, owner->str, entries);
        reply_free(owner);
        reply_free(entries);
    }
    return 0;
}

/* --- per supervisor ------------------------------------------------------------------ */

static int64_t avg_followup(const struct member *m)
{
    return m->followed ? m->followup_ms / m->followed : 0;
}

/* Slowest first: more leads still open, then longer to follow up. */
static int slower(const void *a, const void *b)
{
    const struct member *x = *(struct member *const *)a,
                        *y = *(struct member *const *)b;

    if (x->open != y->open)
        return x->open < y->open ? 1 : -1;
    return avg_followup(x) < avg_followup(y)   ? 1
           : avg_followup(x) > avg_followup(y) ? -1
                                               : 0;
}

/* The send job's payload for supervisor sup's team, or NULL when there
 * is nothing to say (or no memory). The caller frees it. */
static char *team_payload(struct staff_table *t, const struct member *sup,
                          const char *day)
{
    struct member **team = calloc(t->n + 1, sizeof *team);
    long news = 0, in_time = 0, overdue = 0;
    size_t k = 0;
    json_t *o = NULL, *slow;
    char *payload = NULL;

    for (size_t i = 0; team && i < t->n; i++) {
        struct member *m = &t->v[i];
        if (strcmp(m->supervisor, sup->id) != 0)
            continue;
        news += m->news, in_time += m->in_time, overdue += m->overdue;
        if (m->open || m->followed)
            team[k++] = m;
    }
    if (!team || (news == 0 && overdue == 0))
        goto done;
    qsort(team, k, sizeof *team, slower);
    slow = json_array();
    for (size_t i = 0; slow && i < k && i < DIGEST_SLOWEST; i++)
        json_array_append_new(
            slow, json_pack("{s:s, s:I, s:I}", "name",
                            team[i]->name[0] ? team[i]->name : team[i]->id,
                            "open", (json_int_t)team[i]->open, "avg_ms",
                            (json_int_t)avg_followup(team[i])));
    o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:o}", "digest_send", day,
                  "staff", sup->id, "new", (json_int_t)news, "in_time",
                  (json_int_t)in_time, "overdue", (json_int_t)overdue, "slow",
                  slow ? slow : json_array());
    payload = o ? json_dumps(o, JSON_COMPACT) : NULL;
done:
    json_decref(o);
    free(team);
    return payload;
}

/* Queues one send job per supervisor with something to say. 0 or -1. */
static int queue_sends(const struct config *cfg, struct rconn *rc,
                       struct staff_table *t, const char *day)
{
    struct queue *q = queue_open(cfg, rc);
    int got = q ? 0 : -1;

    for (size_t i = 0; got == 0 && i < t->n; i++) {
        char *payload = team_payload(t, &t->v[i], day), id[QUEUE_ID_MAX];
        if (!payload)
            continue;
        snprintf(id, sizeof id, "digest:%s:%s", day, t->v[i].id);
        if (queue_schedule(q, id, payload, strlen(payload), 0) < 0)
            got = -1;
        free(payload);
    }
    if (q)
        queue_close(q);
    return got;
}

/* The day's scan: counts every team and queues the sends. */
static enum job_result scan_day(const struct config *cfg, struct rconn *rc,
                                const json_t *o, char *err, size_t n)
{
    struct staff_table t = {0};
    struct student_scan sc = {&t, 0, 0};
    const char *day = json_string_value(json_object_get(o, "digest"));
    char pattern[KEY_MAX];
    enum job_result res = JOB_OK;

    if (!day || strlen(day) != 10) {
        snprintf(err, n, "payload is not a digest");
        return JOB_DEAD;
    }
    sc.since = json_integer_value(json_object_get(o, "since"));
    sc.until = json_integer_value(json_object_get(o, "until"));
    snprintf(pattern, sizeof pattern, "%sstudent:{*}", cfg->redis.prefix);
    if (load_staff(rc, cfg->redis.prefix, &t) < 0 ||
        scan_pages(rc, pattern, student_page, &sc) < 0 ||
        queue_sends(cfg, rc, &t, day) < 0) {
        snprintf(err, n, "digest of %s: Redis: %s", day, rc->errstr);
        res = JOB_RETRY; /* the sends' ids make a second run harmless */
    }
    staff_table_free(&t);
    return res;
}

int digest_is_job(const json_t *o)
{
    return json_is_string(json_object_get(o, "digest")) ||
           json_is_string(json_object_get(o, "digest_send"));
}

enum job_result digest_job(const struct run_env *env,
                           const struct queue_job *job, struct rconn *rc,
                           const json_t *o, char *err, size_t n)
{
    if (json_is_string(json_object_get(o, "digest")))
        return scan_day(env->cfg, rc, o, err, n);
    return digest_send_job(env, job, rc, o, err, n);
}
