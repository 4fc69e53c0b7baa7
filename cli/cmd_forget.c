/*
 * cmd_forget.c - nudgectl forget STUDENT [--all]: erasure (PIPL art. 47).
 * Removes everything nudge holds about one student and writes one audit
 * entry that names nobody (docs/policy.md, "Retention and erasure").
 *
 * The order matters, because daemons keep running meanwhile:
 *   1. the runs hash goes first: a job claimed from now on finds its run
 *      no longer current and ends without doing anything (rules/jobs.c);
 *   2. the student's queued jobs (ids run:ID:...) are cancelled in every
 *      shard: due, in flight (their ack is then refused), dead;
 *   3. what points at the student from shared keys: open-lead books, alert
 *      groups, the report's counts, delivery receipts (found through the
 *      send records' and the timeline's provider ids);
 *   4. every key with the student's hash tag, SCANned, except :optout
 *      unless --all (a student who refused messages and is imported again
 *      must stay refused).
 * The audit entry (XADD slm:audit) holds the SHA-256 of the id, who ran
 * it, when, and counts.
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/e164.h"
#include "cli/ctl.h"
#include "core/keys.h"
#include "core/reply.h"
#include "queues/delayed.h"
#include "rules/leads.h"
#include "rules/report.h"

#define SCAN_COUNT "500"
#define MAX_PIDS 4096    /* provider ids looked up for receipts */
#define FORGET_GRACE_S 3 /* a job in flight has settled by then */

struct forgot {
    long keys, timeline_entries, jobs, leads, alerts, receipts;
    long in_flight; /* of the jobs, claimed by a daemon at that moment */
    int optout_kept;
    char **pids; /* provider ids of the student's messages */
    size_t npids;
};

static void usage(FILE *fp)
{
    fprintf(fp, "usage: nudgectl forget STUDENT [--all]\n"
                "  removes the student's timeline, queued jobs, runs, "
                "counters, send and receipt\n"
                "  records, lead books and data; keeps the opt-out set "
                "unless --all\n"
                "exit status: 0 done, 2 usage or Redis error\n");
}

/* id with the glob's special bytes escaped, for SCAN MATCH. */
static void glob_escape(const char *id, char *out, size_t n)
{
    size_t j = 0;

    for (; *id && j + 2 < n; id++) {
        if (strchr("*?[]\\", *id))
            out[j++] = '\\';
        out[j++] = *id;
    }
    out[j] = 0;
}

static void note_pid(struct forgot *f, const char *pid)
{
    char **v;

    if (!pid || !*pid || f->npids >= MAX_PIDS)
        return;
    if (!(v = realloc(f->pids, (f->npids + 1) * sizeof *v)))
        return;
    f->pids = v;
    if ((v[f->npids] = strdup(pid)))
        f->npids++;
}

static void free_pids(struct forgot *f)
{
    for (size_t i = 0; i < f->npids; i++)
        free(f->pids[i]);
    free(f->pids);
    f->pids = NULL;
    f->npids = 0;
}

/* Calls fn for every key matching pattern (SCAN: never blocks Redis).
 * 0 or -1. */
static int scan_keys(struct rconn *rc, const char *pattern,
                     int (*fn)(struct rconn *, const char *, void *), void *arg)
{
    char cursor[32] = "0";

    do {
        redisReply *rep = rconn_cmd(rc, "SCAN %s MATCH %s COUNT " SCAN_COUNT,
                                    cursor, pattern);
        if (!rep)
            return -1;
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
            reply_free(rep);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        for (size_t i = 0; i < rep->element[1]->elements; i++)
            if (fn(rc, rep->element[1]->element[i]->str, arg) < 0) {
                reply_free(rep);
                return -1;
            }
        reply_free(rep);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

/* --- what points at the student ----------------------------------------- */

/* "sent PROVIDER_ID" in a send record: the receipt's id. */
static int note_send_record(struct rconn *rc, const char *key, void *arg)
{
    redisReply *rep = rconn_cmd(rc, "GET %s", key);

    if (!rep)
        return -1;
    if (rep->type == REDIS_REPLY_STRING && strncmp(rep->str, "sent ", 5) == 0)
        note_pid(arg, rep->str + 5);
    reply_free(rep);
    return 0;
}

/* The provider ids on the timeline, page by page. */
static int note_timeline_pids(struct rconn *rc, const char *tl,
                              struct forgot *f)
{
    char start[64] = "-";

    for (;;) {
        redisReply *rep = rconn_cmd(rc, "XRANGE %s %s + COUNT 1000", tl, start);
        size_t n;
        if (!rep)
            return -1;
        n = rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0;
        for (size_t i = 0; i < n; i++) {
            redisReply *fields = rep->element[i]->element[1];
            for (size_t k = 0; k + 1 < fields->elements; k += 2)
                if (strcmp(fields->element[k]->str, "provider_id") == 0)
                    note_pid(f, fields->element[k + 1]->str);
        }
        f->timeline_entries += (long)n;
        if (n < 1000) {
            reply_free(rep);
            return 0;
        }
        snprintf(start, sizeof start, "(%s",
                 rep->element[n - 1]->element[0]->str);
        reply_free(rep);
    }
}

/* A receipt record is dropped only when it names this student. */
static int drop_receipts(struct rconn *rc, const char *prefix, const char *id,
                         struct forgot *f)
{
    size_t idlen = strlen(id);

    for (size_t i = 0; i < f->npids; i++) {
        char key[KEY_MAX], name[300];
        redisReply *rep;
        snprintf(name, sizeof name, "receipt:%s", f->pids[i]);
        key_global(key, sizeof key, prefix, name);
        if (!(rep = rconn_cmd(rc, "GET %s", key)))
            return -1;
        if (rep->type == REDIS_REPLY_STRING &&
            strncmp(rep->str, id, idlen) == 0 && rep->str[idlen] == '\t') {
            reply_free(rep);
            if (!(rep = rconn_cmd(rc, "DEL %s %s:status", key, key)))
                return -1;
            f->receipts++;
        }
        reply_free(rep);
    }
    return 0;
}

/* The open-lead books: slm:leads and the holder's (and owner's) set. */
static int drop_leads(struct rconn *rc, const char *prefix, const char *id,
                      struct forgot *f)
{
    char leads[KEY_MAX], skey[KEY_MAX], staff[2][256] = {"", ""};
    redisReply *rep;

    key_global(leads, sizeof leads, prefix, "leads");
    key_student(skey, sizeof skey, prefix, id, NULL);
    if (!(rep = rconn_cmd(rc, "HGET %s %s", leads, id)))
        return -1;
    if (rep->type == REDIS_REPLY_STRING)
        snprintf(staff[0], sizeof staff[0], "%s", rep->str);
    reply_free(rep);
    if (!(rep = rconn_cmd(rc, "HGET %s owner", skey)))
        return -1;
    if (rep->type == REDIS_REPLY_STRING)
        snprintf(staff[1], sizeof staff[1], "%s", rep->str);
    reply_free(rep);
    if (!(rep = rconn_cmd(rc, "HDEL %s %s", leads, id)))
        return -1;
    f->leads += rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
    reply_free(rep);
    for (int i = 0; i < 2; i++) {
        char key[KEY_MAX];
        if (!staff[i][0] || !key_valid_id(staff[i]) ||
            leads_staff_key(key, sizeof key, prefix, staff[i]) < 0)
            continue;
        if (!(rep = rconn_cmd(rc, "ZREM %s %s", key, id)))
            return -1;
        reply_free(rep);
    }
    return 0;
}

/* The phone index entry (slm:phone:E164, written for replies) that names
 * the student: read from their phone before the hash goes, deleted only
 * when it still points at them (a number may have passed to another). */
static int drop_phone_index(struct rconn *rc, const char *prefix,
                            const char *id, struct forgot *f)
{
    char skey[KEY_MAX], key[KEY_MAX], e164[E164_MAX];
    redisReply *rep;
    int ok;

    key_student(skey, sizeof skey, prefix, id, NULL);
    if (!(rep = rconn_cmd(rc, "HGET %s phone", skey)))
        return -1;
    ok = rep->type == REDIS_REPLY_STRING &&
         e164_normalise(rep->str, e164) == 0 &&
         key_phone(key, sizeof key, prefix, e164) >= 0;
    reply_free(rep);
    if (!ok)
        return 0;
    if (!(rep = rconn_cmd(rc, "GET %s", key)))
        return -1;
    ok = rep->type == REDIS_REPLY_STRING && strcmp(rep->str, id) == 0;
    reply_free(rep);
    if (!ok)
        return 0;
    if (!(rep = rconn_cmd(rc, "DEL %s", key)))
        return -1;
    f->keys += rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
    reply_free(rep);
    return 0;
}

struct member_arg {
    const char *id;
    struct forgot *f;
};

/* An alert group's key: the student out of its leads, batches and
 * bookkeeping (sorted sets and hashes keyed by student id). */
static int drop_alert_member(struct rconn *rc, const char *key, void *arg)
{
    struct member_arg *m = arg;
    redisReply *rep = rconn_cmd(rc, "TYPE %s", key);
    const char *cmd = NULL;

    if (!rep)
        return -1;
    if (rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "zset") == 0)
        cmd = "ZREM";
    else if (rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "hash") == 0)
        cmd = "HDEL";
    reply_free(rep);
    if (!cmd)
        return 0;
    if (!(rep = rconn_cmd(rc, "%s %s %s", cmd, key, m->id)))
        return -1;
    if (rep->type == REDIS_REPLY_INTEGER && rep->integer > 0 &&
        strcmp(cmd, "ZREM") == 0)
        m->f->alerts++;
    reply_free(rep);
    return 0;
}

/* A count of the report (rules/report.h: slm:report:RULE:DAY:ARM:METRIC,
 * sets of student ids): the student out of it. The indexes (rules, days,
 * arms, and slm:report:exposed, which sweep() sees to) are left alone. */
static int drop_report_member(struct rconn *rc, const char *key, void *arg)
{
    struct member_arg *m = arg;
    const char *metric = strrchr(key, ':');
    redisReply *rep;
    int counted = 0;

    for (int i = 0; metric && i < REPORT_NMETRICS; i++)
        counted |= strcmp(metric + 1, report_metric_names[i]) == 0;
    if (!counted)
        return 0;
    if (!(rep = rconn_cmd(rc, "SREM %s %s", key, m->id)))
        return -1;
    reply_free(rep);
    return 0;
}

/* --- the queue ---------------------------------------------------------- */

/* Cancels every job of one shard's set or hash whose id is run:ID:... */
static int cancel_in(struct queue *q, struct rconn *rc, const char *key,
                     const char *scan, const char *pattern, struct forgot *f)
{
    char cursor[32] = "0";

    do {
        redisReply *rep = rconn_cmd(rc, "%s %s %s MATCH %s COUNT " SCAN_COUNT,
                                    scan, key, cursor, pattern);
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
            if (rep)
                reply_free(rep);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        /* members and scores (or fields and values) alternate */
        for (size_t i = 0; i < rep->element[1]->elements; i += 2) {
            int got = queue_cancel(q, rep->element[1]->element[i]->str);
            if (got < 0) {
                reply_free(rep);
                return -1;
            }
            f->jobs += got;
        }
        reply_free(rep);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

static int cancel_jobs(struct ctl *ctl, struct rconn *rc, const char *eid,
                       struct forgot *f)
{
    /* lease first: what was in flight is counted there */
    static const char *const sets[][2] = {
        {"lease", "ZSCAN"}, {"jobs", "HSCAN"},     {"due", "ZSCAN"},
        {"dead", "ZSCAN"},  {"attempts", "HSCAN"}, {"errors", "HSCAN"}};
    struct queue *q = queue_open(&ctl->cfg, rc);
    char pattern[400];
    int status = 0;

    if (!q)
        return -1;
    snprintf(pattern, sizeof pattern, "run:%s:*", eid);
    for (int s = 0; s < queue_shards(q) && status == 0; s++)
        for (size_t k = 0; k < sizeof sets / sizeof sets[0] && status == 0;
             k++) {
            char key[KEY_MAX];
            queue_key(key, sizeof key, ctl->cfg.redis.prefix, s, sets[k][0]);
            long before = f->jobs;
            status = cancel_in(q, rc, key, sets[k][1], pattern, f);
            if (k == 0)
                f->in_flight += f->jobs - before;
        }
    queue_close(q);
    return status;
}

/* --- the student's own keys --------------------------------------------- */

struct own_arg {
    const char *optout; /* the key kept, or NULL (--all) */
    struct forgot *f;
};

static int drop_own_key(struct rconn *rc, const char *key, void *arg)
{
    struct own_arg *o = arg;
    redisReply *rep;

    if (o->optout && strcmp(key, o->optout) == 0) {
        o->f->optout_kept = 1;
        return 0;
    }
    if (!(rep = rconn_cmd(rc, "UNLINK %s", key)))
        return -1;
    o->f->keys += rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
    reply_free(rep);
    return 0;
}

/* --- the audit entry ---------------------------------------------------- */

static void id_digest(const char *id, char hex[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *)id, strlen(id), d);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        sprintf(hex + 2 * i, "%02x", d[i]);
}

static int write_audit(struct rconn *rc, const char *prefix, const char *id,
                       int all, const struct forgot *f, char *summary, size_t n)
{
    char key[KEY_MAX], hex[65], when[32], actor[128];
    const char *user = getenv("USER");
    time_t now = time(NULL);
    struct tm tm;
    redisReply *rep;

    id_digest(id, hex);
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(actor, sizeof actor, "%s", user && *user ? user : "unknown");
    snprintf(summary, n,
             "keys=%ld timeline_entries=%ld jobs=%ld leads=%ld alerts=%ld "
             "receipts=%ld optout=%s",
             f->keys, f->timeline_entries, f->jobs, f->leads, f->alerts,
             f->receipts,
             all              ? "removed"
             : f->optout_kept ? "kept"
                              : "none");
    key_global(key, sizeof key, prefix, "audit");
    rep = rconn_cmd(rc,
                    "XADD %s * action forget student_sha256 %s actor %s "
                    "at %s removed %s",
                    key, hex, actor, when, summary);
    if (!rep)
        return -1;
    reply_free(rep);
    return 0;
}

/* --- the command -------------------------------------------------------- */

/* One pass over everything that names the student. */
static int sweep(struct ctl *ctl, struct rconn *rc, const char *id, int all,
                 struct forgot *f)
{
    const char *prefix = ctl->cfg.redis.prefix;
    char eid[300], pattern[KEY_MAX], key[KEY_MAX], optout[KEY_MAX];
    struct member_arg m = {id, f};
    struct own_arg own = {all ? NULL : optout, f};
    redisReply *rep;

    glob_escape(id, eid, sizeof eid);
    key_student(key, sizeof key, prefix, id, "runs");
    if (!(rep = rconn_cmd(rc, "DEL %s", key)))
        return -1;
    reply_free(rep);
    if (cancel_jobs(ctl, rc, eid, f) < 0)
        return -1;
    snprintf(pattern, sizeof pattern, "%sstudent:{%s}:send:*", prefix, eid);
    key_student(key, sizeof key, prefix, id, KEY_TIMELINE);
    if (scan_keys(rc, pattern, note_send_record, f) < 0 ||
        note_timeline_pids(rc, key, f) < 0 ||
        drop_receipts(rc, prefix, id, f) < 0 ||
        drop_leads(rc, prefix, id, f) < 0 ||
        drop_phone_index(rc, prefix, id, f) < 0)
        return -1;
    snprintf(pattern, sizeof pattern, "%salert:*", prefix);
    if (scan_keys(rc, pattern, drop_alert_member, &m) < 0)
        return -1;
    snprintf(pattern, sizeof pattern, "%sreport:*", prefix);
    if (scan_keys(rc, pattern, drop_report_member, &m) < 0)
        return -1;
    report_exposed_key(key, sizeof key, prefix);
    if (!(rep = rconn_cmd(rc, "ZREM %s %s", key, id)))
        return -1;
    reply_free(rep);
    key_student(optout, sizeof optout, prefix, id, KEY_OPTOUT);
    key_student(key, sizeof key, prefix, id, NULL);
    if (drop_own_key(rc, key, &own) < 0)
        return -1;
    snprintf(pattern, sizeof pattern, "%sstudent:{%s}:*", prefix, eid);
    return scan_keys(rc, pattern, drop_own_key, &own);
}

/* A job a daemon held when its run went may be past its last check
 * (a message on its way to the provider): its outcome would write the
 * send record and a timeline entry again. A second pass after
 * FORGET_GRACE_S removes them. */
static int forget(struct ctl *ctl, struct rconn *rc, const char *id, int all,
                  struct forgot *f)
{
    if (sweep(ctl, rc, id, all, f) < 0)
        return -1;
    if (f->in_flight == 0)
        return 0;
    fprintf(stderr,
            "nudgectl: %ld job%s of the student %s in flight: sweeping "
            "again in %d s\n",
            f->in_flight, f->in_flight == 1 ? "" : "s",
            f->in_flight == 1 ? "was" : "were", FORGET_GRACE_S);
    sleep(FORGET_GRACE_S);
    free_pids(f); /* the receipts already dropped stay counted */
    return sweep(ctl, rc, id, all, f);
}

int cmd_forget(struct ctl *ctl, int argc, char **argv)
{
    struct forgot f = {0};
    const char *id = NULL;
    struct rconn *rc;
    char summary[300];
    int all = 0, status = CTL_OK;

    if (ctl_wants_help(argc, argv)) {
        usage(stdout);
        return CTL_OK;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0)
            all = 1;
        else if (!id && argv[i][0] != '-')
            id = argv[i];
        else
            id = NULL, i = argc; /* a usage error */
    }
    if (!id || !key_valid_id(id)) {
        usage(stderr);
        return CTL_USAGE;
    }
    if (!(rc = ctl_redis(ctl)))
        return CTL_USAGE;
    if (forget(ctl, rc, id, all, &f) < 0 ||
        write_audit(rc, ctl->cfg.redis.prefix, id, all, &f, summary,
                    sizeof summary) < 0) {
        fprintf(stderr, "nudgectl: forget: Redis: %s\n", rc->errstr);
        status = CTL_USAGE;
    } else {
        printf("forgot student %s: %s\n", id, summary);
    }
    free_pids(&f);
    return status;
}
