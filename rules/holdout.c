/*
 * holdout.c - who a rule's holdout keeps out, and the record of a run
 * kept out (see holdout.h).
 */
#include "rules/holdout.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/hash.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/reply.h"
#include "core/timeline.h"
#include "rules/ast.h"
#include "rules/report.h"
#include "rules/run.h"

/* --- the draw ------------------------------------------------------------- */

int holdout_share_parse(const char *text, int *share, char *why, size_t n)
{
    const char *p = text;
    long whole = 0;
    int tenths = 0, digits = 0;

    while (isdigit((unsigned char)*p) && digits < 4) {
        whole = whole * 10 + (*p++ - '0');
        digits++;
    }
    if (digits && *p == '.' && isdigit((unsigned char)p[1])) {
        tenths = p[1] - '0';
        p += 2;
        if (isdigit((unsigned char)*p)) {
            snprintf(why, n, "at most one decimal (holdout 12.5%%)");
            return -1;
        }
    }
    if (!digits || isdigit((unsigned char)*p) || strcmp(p, "%") != 0 ||
        whole * 100 + tenths * 10 <= 0 ||
        whole * 100 + tenths * 10 >= HOLDOUT_SCALE) {
        snprintf(why, n,
                 "a share is more than 0%% and less than 100%% (holdout "
                 "10%%)");
        return -1;
    }
    *share = (int)(whole * 100 + tenths * 10);
    return 0;
}

char *holdout_share_format(int share, char *buf, size_t n)
{
    if (share % 100)
        snprintf(buf, n, "%d.%d%%", share / 100, share % 100 / 10);
    else
        snprintf(buf, n, "%d%%", share / 100);
    return buf;
}

int holdout_draw(const char *rule, const char *student, int share)
{
    /* The NUL keeps "ab"+"c" and "a"+"bc" apart. */
    uint64_t h = fnv1a64_more(FNV1A64_INIT, rule, strlen(rule) + 1);

    h = fnv1a64_more(h, student, strlen(student));
    return share > 0 && h % HOLDOUT_SCALE < (uint64_t)share;
}

int holdout_keeps_out(const struct rule *r, const char *student)
{
    return r->holdout > 0 && holdout_draw(r->name, student, r->holdout);
}

/* --- in the engine -------------------------------------------------------- */

/* slm:student:{ID}:held:RUNID, the record that run r was held out. */
static void record_key(const struct run *r, char *key, size_t n)
{
    char suffix[128];

    snprintf(suffix, sizeof suffix, "held:%s", r->id);
    key_student(key, n, r->env->cfg->redis.prefix, r->student_id, suffix);
}

/* Claims the record of run r's holdout (SET NX, kept as long as a send's
 * record): 1 claimed now, 0 an earlier handling of the same trigger wrote
 * it, -1 error. */
static int claim_record(struct run *r)
{
    char key[KEY_MAX];
    redisReply *rep;
    int created;

    record_key(r, key, sizeof key);
    rep = rconn_cmd(r->rc, "SET %s 1 NX PX %lld", key,
                    (long long)RUN_SEND_RECORD_TTL_MS);
    if (!rep)
        return -1;
    created = rep->type == REDIS_REPLY_STATUS;
    reply_free(rep);
    return created;
}

/* Lets the trigger, handled again, write the entry. Best effort: when
 * Redis is gone this fails too, and the entry is lost rather than written
 * twice. */
static void give_back_record(struct run *r)
{
    char key[KEY_MAX];
    redisReply *rep;

    record_key(r, key, sizeof key);
    if ((rep = rconn_cmd(r->rc, "DEL %s", key)))
        reply_free(rep);
}

static void count_held_out(const char *rule)
{
    char labels[300];

    snprintf(labels, sizeof labels, "rule=\"%s\"", rule);
    metric_inc(metric_counter("nudge_holdout_total",
                              "Would-be runs their rule's holdout kept out",
                              labels));
}

int holdout_record(struct run *r)
{
    const struct rule *src = r->rule->src;
    char share[16], detail[96], actor[160];
    struct tl_entry e;
    int got = claim_record(r);

    if (got < 0)
        return -1;
    if (got == 1) {
        run_entry(r, 0, "held_out", NULL, &e, actor, sizeof actor);
        e.step = -1; /* no step ran */
        snprintf(detail, sizeof detail,
                 "held out (%s holdout): nothing is sent",
                 holdout_share_format(src->holdout, share, sizeof share));
        e.detail = detail;
        if (timeline_append(r->rc, r->env->cfg->redis.prefix, r->student_id,
                            r->env->cfg->redis.timeline_maxlen, &e) < 0) {
            give_back_record(r);
            return -1;
        }
        count_held_out(r->rule->name);
        if (report_run_started(r, REPORT_HOLDOUT) < 0) /* rules/report.h */
            return -1;
        log_debug("rule %s, student %s: held out (%s holdout)", r->rule->name,
                  r->student_id, share);
    }
    /* A rule that waits would keep its run in progress: so does the
     * would-be run, and later triggers start none, as for the others. */
    if (r->rule->span_ms || r->rule->work_ms || r->rule->work_days)
        return 0;
    return run_end(r);
}
