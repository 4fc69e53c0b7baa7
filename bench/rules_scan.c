/*
 * rules_scan.c - a scheduled rule's scan of every student from Redis
 * (issue 5), run by bench/bench_rules.sh against a throwaway Redis:
 *
 *   rules_scan fill ADDRESS N         writes N students (hash and tags)
 *   rules_scan raw ADDRESS            the limit: SCAN, then HGETALL and two
 *                                     SMEMBERS per student pipelined in
 *                                     overlapped chunks, replies read and
 *                                     dropped
 *   rules_scan engine ADDRESS RULES   the engine's path: the same SCAN,
 *                                     student_load_many() per batch, each
 *                                     student evaluated against every
 *                                     scheduled rule of the RULES file
 *
 * Each prints "students N seconds S rate R" (and "matched M"). The
 * engine's daemons hand the batches to the queue's workers; this measures
 * the scan, load and evaluation without that hop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/keys.h"
#include "core/redis.h"
#include "core/student_store.h"
#include "rules/compile.h"
#include "rules/eval.h"
#include "rules/scanload.h"

#define BATCH 500
#define PREFIX "slm:"

static const char *const stages[] = {"lead",    "contacted", "consulting",
                                     "applied", "admitted",  "lost"};
static const char *const regions[] = {"xinjiang", "xizang",  "qinghai",
                                      "beijing",  "sichuan", "henan"};

static int fill(struct rconn *rc, long n)
{
    char key[KEY_MAX], id[32], score[16], region[32];
    long pending = 0;

    for (long i = 0; i < n; i++) {
        snprintf(id, sizeof id, "%ld", 1000000 + i);
        snprintf(score, sizeof score, "%ld", 450 + (i * 7919) % 250);
        snprintf(region, sizeof region, "region:%s", regions[i % 6]);
        key_student(key, sizeof key, PREFIX, id, NULL);
        rconn_append(rc,
                     "HSET %s name 学生%s phone +86138%08ld stage %s "
                     "score %s subject science email s%s@example.com",
                     key, id, i, stages[(i / 6) % 6], score, id);
        key_student(key, sizeof key, PREFIX, id, KEY_TAGS);
        rconn_append(rc, "SADD %s %s %s", key, region,
                     i % 3 ? "intent:high" : "来源:咨询会");
        pending += 2;
        if (pending >= 2000 || i == n - 1) {
            if (rconn_discard(rc, (int)pending) != 0)
                return 1;
            pending = 0;
        }
    }
    return 0;
}

/* SCANs the student hashes; calls fn with each batch of ids. */
static long scan(struct rconn *rc,
                 int (*fn)(struct rconn *, const char **, size_t, void *),
                 void *ctx)
{
    char cursor[32] = "0", **ids = NULL;
    size_t n = 0, cap = 0;
    long total = 0;
    size_t plen = strlen(PREFIX "student:{");

    do {
        redisReply *rep = rconn_cmd(
            rc, "SCAN %s MATCH " PREFIX "student:{*} COUNT 1000 TYPE hash",
            cursor);
        if (!rep || rep->type != REDIS_REPLY_ARRAY)
            return -1;
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        if (n + rep->element[1]->elements > cap) {
            cap = (n + rep->element[1]->elements) * 2;
            ids = realloc(ids, cap * sizeof *ids);
        }
        for (size_t i = 0; i < rep->element[1]->elements; i++) {
            const char *k = rep->element[1]->element[i]->str;
            ids[n++] = strndup(k + plen, strlen(k) - plen - 1);
        }
        reply_free(rep);
        if (n >= BATCH || (strcmp(cursor, "0") == 0 && n)) {
            if (fn(rc, (const char **)ids, n, ctx) < 0)
                return -1;
            total += (long)n;
            for (size_t i = 0; i < n; i++)
                free(ids[i]);
            n = 0;
        }
    } while (strcmp(cursor, "0") != 0);
    free(ids);
    return total;
}

/* The limit: the same reads, chunked and overlapped as students_each()
 * does (the next chunk queued before this one's replies are read), the
 * replies dropped unparsed. */
static int raw_batch(struct rconn *rc, const char **ids, size_t n, void *ctx)
{
    const size_t chunk = 100;
    size_t cur = 0, end = n < chunk ? n : chunk;

    (void)ctx;
    for (size_t i = 0; i < end; i++)
        if (student_append_reads(rc, PREFIX, ids[i]) < 0)
            return -1;
    while (cur < n) {
        size_t next_end = end + chunk < n ? end + chunk : n;
        for (size_t i = end; i < next_end; i++)
            if (student_append_reads(rc, PREFIX, ids[i]) < 0)
                return -1;
        if (rconn_discard(rc, (int)((end - cur) * 3)) < 0)
            return -1;
        cur = end;
        end = next_end;
    }
    return 0;
}

struct eval_ctx {
    struct ruleset *set;
    struct rview view;
    long matched;
};

static int eval_one(void *arg, struct student **st)
{
    struct eval_ctx *c = arg;

    rview_load(&c->view, *st, clock_now_ms());
    for (size_t k = 0; k < c->set->nscheduled; k++)
        c->matched += rule_when(&c->set->rules[c->set->scheduled[k]], &c->view);
    return 0;
}

/* The engine's scan job does this: students_each() with the evaluation. */
static int engine_batch(struct rconn *rc, const char **ids, size_t n, void *arg)
{
    return students_each(rc, PREFIX, ids, n, eval_one, arg) < 0 ? -1 : 0;
}

static void report(long n, int64_t start)
{
    double s = (clock_mono_ms() - start) / 1000.0;
    printf("students %ld seconds %.3f rate %.0f\n", n, s, n / s);
}

int main(int argc, char **argv)
{
    struct rconn *rc;
    int64_t start;
    long n;

    if (argc < 3)
        goto usage;
    rc = rconn_new_addr(argv[2], NULL, 0, NULL);
    if (!rc || rconn_connect(rc) < 0) {
        fprintf(stderr, "rules_scan: %s\n", rc ? rc->errstr : "no memory");
        return 1;
    }
    if (strcmp(argv[1], "fill") == 0 && argc == 4)
        return fill(rc, atol(argv[3]));
    start = clock_mono_ms();
    if (strcmp(argv[1], "raw") == 0 && argc == 3) {
        n = scan(rc, raw_batch, NULL);
        report(n, start);
        return n < 0;
    }
    if (strcmp(argv[1], "engine") == 0 && argc == 4) {
        struct rules_env env = {0};
        struct diag d = {0};
        struct eval_ctx c = {0};
        const char *path = argv[3];
        rules_env_add_channel(&env, "sms", "sms");
        rules_env_add_channel(&env, "email", "email");
        if (ruleset_load_files(&path, 1, &env, &c.set, &d) < 0 ||
            rview_init(&c.view, c.set) < 0) {
            diag_print(&d, stderr);
            return 1;
        }
        start = clock_mono_ms();
        n = scan(rc, engine_batch, &c);
        report(n, start);
        printf("matched %ld\n", c.matched);
        return n < 0;
    }
usage:
    fprintf(stderr, "usage: rules_scan fill ADDRESS N | raw ADDRESS | "
                    "engine ADDRESS RULES\n");
    return 2;
}
