/*
 * cmd_diff.c - nudgectl diff OLD_RULES_DIR NEW_RULES_DIR [--json]: what
 * copying the new rules in place would change, before anyone does it.
 * Both folders are loaded as nudged and `nudgectl check` load them; the
 * rules are paired by name (cli/diff.h); then every student in Redis is
 * read once (rules/scanload.h) with the runs of the rules that changed or
 * went, and counted. Nothing is written to Redis. docs/insight.md, "Diff
 * before deploy", says how to read the output.
 *
 * Exit: 0 the comparison is printed (differences or not), 1 a rule
 * folder has errors (file:line:col: message on stderr), 2 a usage error,
 * a folder that does not exist, or Redis failed.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/ctl.h"
#include "cli/diff.h"
#include "cli/progress.h"
#include "core/clock.h"
#include "core/keys.h"
#include "core/reply.h"
#include "rules/scanload.h"
#include "rules/schedule.h"

#define DIFF_CHUNK 500 /* students read and counted at a time */

struct diff_cmd {
    struct ctl *ctl;
    const char *dir[2]; /* old, new */
    int json;
    struct rules_env env;
    struct ruleset *set[2];
    struct diff d;
    struct strset ids; /* every student id (rules/scanload.h) */
    int scanned;
    int64_t now_ms;
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: nudgectl -c FILE diff OLD_RULES_DIR NEW_RULES_DIR "
            "[--json]\n"
            "Compares two rule folders: the rules added, removed and "
            "changed, and for\neach, today's students who would newly "
            "match it, no longer match it, or\nhave their run in progress "
            "cut short. Reads Redis, writes nothing.\n");
}

/* --- loading -------------------------------------------------------------- */

static int parse_args(struct diff_cmd *c, int argc, char **argv)
{
    int n = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            c->json = 1;
        else if (argv[i][0] == '-' || n == 2)
            return -1;
        else
            c->dir[n++] = argv[i];
    }
    return n == 2 ? 0 : -1;
}

/* A folder that is not there is the command's mistake, not the rules'. */
static int dirs_exist(const struct diff_cmd *c)
{
    struct stat sb;

    for (int i = 0; i < 2; i++)
        if (stat(c->dir[i], &sb) < 0 || !S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "nudgectl: diff: %s: no such folder\n",
                    c->dir[i]);
            return -1;
        }
    return 0;
}

/* Both sets, each checked as the daemon checks it; every error of both
 * is printed. Returns 0 or CTL_FINDING / CTL_USAGE. */
static int load_sets(struct diff_cmd *c)
{
    struct diag d = {0};
    int bad = 0;

    if (rules_env_from_config(&c->env, &c->ctl->cfg) < 0) {
        fprintf(stderr, "nudgectl: out of memory\n");
        return CTL_USAGE;
    }
    for (int i = 0; i < 2; i++)
        if (ruleset_load_dir(c->dir[i], &c->env, &c->set[i], &d) < 0)
            bad = 1;
    diag_print(&d, stderr);
    if (bad)
        fprintf(stderr, "nudgectl: diff: fix these first (%d error%s)\n",
                d.errors, d.errors == 1 ? "" : "s");
    diag_clear(&d);
    return bad ? CTL_FINDING : 0;
}

/* --- reading the students ---------------------------------------------------- */

struct chunk {
    struct student *st[DIFF_CHUNK];
    size_t n;
};

static int keep_student(void *ctx, struct student **st)
{
    struct chunk *k = ctx;

    k->st[k->n++] = *st;
    *st = NULL;
    return 0;
}

/* Queues HMGET runs RULE... for each student of k: the rules whose runs
 * matter (diff_wants_runs()). fields[j] is the rule index of field j. */
static int queue_runs(struct diff_cmd *c, struct rconn *rc,
                      const struct chunk *k, const size_t *fields,
                      size_t nfields)
{
    const char **argv = calloc(nfields + 2, sizeof *argv);
    char key[KEY_MAX];
    int status = 0;

    if (!argv)
        return -1;
    argv[0] = "HMGET";
    argv[1] = key;
    for (size_t j = 0; j < nfields; j++)
        argv[j + 2] = c->d.rules[fields[j]].name;
    for (size_t i = 0; i < k->n && status == 0; i++) {
        key_student(key, sizeof key, c->ctl->cfg.redis.prefix, k->st[i]->id,
                    "runs");
        status = rconn_appendargv(rc, (int)nfields + 2, argv, NULL);
    }
    free(argv);
    return status;
}

/* Counts the students of k, with their runs read in one pipeline. */
static int count_chunk(struct diff_cmd *c, struct rconn *rc,
                       const struct chunk *k, const size_t *fields,
                       size_t nfields, const char **runs)
{
    if (nfields && queue_runs(c, rc, k, fields, nfields) < 0)
        return -1;
    for (size_t i = 0; i < k->n; i++) {
        redisReply *rep = NULL;
        memset(runs, 0, c->d.nrules * sizeof *runs);
        if (nfields) {
            rep = rconn_reply(rc);
            if (!rep || rep->type != REDIS_REPLY_ARRAY ||
                rep->elements != nfields) {
                if (rep)
                    reply_free(rep);
                rconn_close(rc); /* the other replies are pending */
                return -1;
            }
            for (size_t j = 0; j < nfields; j++)
                if (rep->element[j]->type == REDIS_REPLY_STRING)
                    runs[fields[j]] = rep->element[j]->str;
        }
        diff_student(&c->d, k->st[i], runs, c->now_ms);
        if (rep)
            reply_free(rep);
    }
    return 0;
}

static void chunk_clear(struct chunk *k)
{
    for (size_t i = 0; i < k->n; i++)
        student_free(k->st[i]);
    k->n = 0;
}

/* Reads every student, DIFF_CHUNK at a time, and counts them. */
static int count_students(struct diff_cmd *c, struct rconn *rc)
{
    size_t *fields = calloc(c->d.nrules + 1, sizeof *fields), nfields = 0;
    const char **runs = calloc(c->d.nrules + 1, sizeof *runs);
    struct chunk *k = calloc(1, sizeof *k);
    struct progress p;
    int status = -1;

    if (!fields || !runs || !k)
        goto done;
    for (size_t i = 0; i < c->d.nrules; i++)
        if (diff_wants_runs(&c->d, i))
            fields[nfields++] = i;
    progress_start(&p, stderr, progress_wanted(stderr, c->json), "diff",
                   "students", c->ids.n, NULL);
    for (size_t at = 0; at < c->ids.n; at += DIFF_CHUNK) {
        size_t n = c->ids.n - at < DIFF_CHUNK ? c->ids.n - at : DIFF_CHUNK;
        int got = students_each(rc, c->ctl->cfg.redis.prefix,
                                (const char *const *)c->ids.v + at, n,
                                keep_student, k);
        if (got < 0 || count_chunk(c, rc, k, fields, nfields, runs) < 0) {
            chunk_clear(k);
            progress_end(&p);
            goto done;
        }
        chunk_clear(k);
        progress_update(&p, at + n);
    }
    progress_end(&p);
    status = 0;
done:
    free(fields);
    free(runs);
    free(k);
    return status;
}

/* --- output ------------------------------------------------------------------- */

static json_t *count_json(const struct diff_count *n)
{
    json_t *sample = json_array();

    for (size_t i = 0; i < n->nsample; i++)
        json_array_append_new(sample,
                              json_pack("{s:s, s:s}", "id", n->sample[i].id,
                                        "contact", n->sample[i].contact));
    return json_pack("{s:I, s:o}", "count", (json_int_t)n->n, "sample",
                     sample);
}

static json_t *rule_json(const struct diff_cmd *c, const struct diff_rule *r)
{
    const struct crule *any = r->after ? r->after : r->before;
    json_t *o = json_pack("{s:s, s:s, s:s, s:i}", "name", r->name, "status",
                          diff_status_name(r->status), "file",
                          any->src->file, "line", any->src->at.line);
    json_t *parts = json_array();
    char buf[160];

    for (unsigned bit = 1; bit <= DIFF_TEXT; bit <<= 1)
        if (r->parts & bit)
            json_array_append_new(parts,
                                  json_string(diff_parts_format(bit, buf,
                                                                sizeof buf)));
    json_object_set_new(o, "changed", parts);
    if (r->status == DIFF_SAME || !c->scanned)
        return o;
    json_object_set_new(o, "match_before", json_integer((json_int_t)r->match_before));
    json_object_set_new(o, "match_after", json_integer((json_int_t)r->match_after));
    json_object_set_new(o, "newly_matching", count_json(&r->newly));
    json_object_set_new(o, "no_longer_matching", count_json(&r->no_longer));
    json_object_set_new(o, "running", json_integer((json_int_t)r->running));
    json_object_set_new(o, "cut_short", count_json(&r->cut_short));
    return o;
}

static void print_json(const struct diff_cmd *c)
{
    json_t *rules = json_array(), *o;
    char when[32];

    for (size_t i = 0; i < c->d.nrules; i++)
        json_array_append_new(rules, rule_json(c, &c->d.rules[i]));
    o = json_pack("{s:s, s:s, s:s, s:b, s:I, s:{s:I, s:I, s:I, s:I}, s:o}",
                  "old", c->dir[0], "new", c->dir[1], "at",
                  schedule_format(c->now_ms, when, sizeof when), "scanned",
                  c->scanned, "students", (json_int_t)c->d.students,
                  "summary", "changed",
                  (json_int_t)c->d.nstatus[DIFF_CHANGED], "added",
                  (json_int_t)c->d.nstatus[DIFF_ADDED], "removed",
                  (json_int_t)c->d.nstatus[DIFF_REMOVED], "unchanged",
                  (json_int_t)c->d.nstatus[DIFF_SAME], "rules", rules);
    json_dumpf(o, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(o);
}

/* A count, or "-" where the figure cannot be (a rule absent on a side). */
static const char *cell(size_t n, int applies, char *buf, size_t len)
{
    if (!applies)
        return "-";
    snprintf(buf, len, "%zu", n);
    return buf;
}

static void print_row(const struct diff_rule *r, int width)
{
    char change[200], parts[160], b[6][24];

    snprintf(change, sizeof change, "%s%s%s", diff_status_name(r->status),
             r->parts ? ": " : "",
             r->parts ? diff_parts_format(r->parts, parts, sizeof parts) : "");
    if (r->status == DIFF_SAME) {
        printf("%-*s  %s\n", width, r->name, change);
        return;
    }
    printf("%-*s  %-24s %6s %6s %7s %9s %8s %10s\n", width, r->name, change,
           cell(r->match_before, !!r->before, b[0], sizeof b[0]),
           cell(r->match_after, !!r->after, b[1], sizeof b[1]),
           cell(r->newly.n, !!r->after, b[2], sizeof b[2]),
           cell(r->no_longer.n, !!r->before, b[3], sizeof b[3]),
           cell(r->running, !!r->before, b[4], sizeof b[4]),
           cell(r->cut_short.n, !!r->before, b[5], sizeof b[5]));
}

static void print_sample(const char *rule, const char *what,
                         const struct diff_count *n)
{
    if (!n->n)
        return;
    printf("  %s, %s (%zu):", rule, what, n->n);
    for (size_t i = 0; i < n->nsample; i++)
        printf("%s %s (%s)", i ? "," : "", n->sample[i].id,
               n->sample[i].contact);
    printf("%s\n", n->n > n->nsample ? ", ..." : "");
}

static void print_text(const struct diff_cmd *c)
{
    const struct diff *d = &c->d;
    char when[32];
    int width = 4;

    printf("old %s: %zu rule%s; new %s: %zu rule%s\n", c->dir[0],
           c->set[0]->nrules, c->set[0]->nrules == 1 ? "" : "s", c->dir[1],
           c->set[1]->nrules, c->set[1]->nrules == 1 ? "" : "s");
    printf("%zu changed, %zu added, %zu removed, %zu unchanged\n",
           d->nstatus[DIFF_CHANGED], d->nstatus[DIFF_ADDED],
           d->nstatus[DIFF_REMOVED], d->nstatus[DIFF_SAME]);
    if (!c->scanned) {
        printf("no rule differs: no student to count\n");
        return;
    }
    printf("%zu students, today's data (%s)\n\n", d->students,
           schedule_format(c->now_ms, when, sizeof when));
    for (size_t i = 0; i < d->nrules; i++)
        if ((int)strlen(d->rules[i].name) > width)
            width = (int)strlen(d->rules[i].name);
    printf("%-*s  %-24s %6s %6s %7s %9s %8s %10s\n", width, "rule", "change",
           "before", "after", "newly", "no longer", "running", "cut short");
    for (size_t i = 0; i < d->nrules; i++)
        print_row(&d->rules[i], width);
    printf("\nsamples (contacts masked):\n");
    for (size_t i = 0; i < d->nrules; i++) {
        const struct diff_rule *r = &d->rules[i];
        print_sample(r->name, "newly matching", &r->newly);
        print_sample(r->name, "no longer matching", &r->no_longer);
        print_sample(r->name, "cut short", &r->cut_short);
    }
}

/* --- the command ---------------------------------------------------------------- */

static int run_diff(struct diff_cmd *c)
{
    struct rconn *rc;
    int status;

    if (dirs_exist(c) < 0)
        return CTL_USAGE;
    if ((status = load_sets(c)) != 0)
        return status;
    if (diff_init(&c->d, &c->ctl->cfg, c->set[0], c->set[1]) < 0) {
        fprintf(stderr, "nudgectl: out of memory\n");
        return CTL_USAGE;
    }
    c->now_ms = clock_now_ms();
    if (c->d.nstatus[DIFF_SAME] < c->d.nrules) {
        if (!(rc = ctl_redis(c->ctl)))
            return CTL_USAGE;
        /* every id first: the total the progress line counts to */
        if (students_list_all(rc, c->ctl->cfg.redis.prefix, &c->ids) < 0 ||
            count_students(c, rc) < 0) {
            fprintf(stderr, "nudgectl: diff: reading students: %s\n",
                    rc->errstr[0] ? rc->errstr : "out of memory");
            return CTL_USAGE;
        }
        c->scanned = 1;
    }
    if (c->json)
        print_json(c);
    else
        print_text(c);
    return CTL_OK;
}

int cmd_diff(struct ctl *ctl, int argc, char **argv)
{
    struct diff_cmd c = {.ctl = ctl};
    int status;

    if (ctl_wants_help(argc, argv)) {
        usage(stdout);
        return CTL_OK;
    }
    if (parse_args(&c, argc, argv) < 0) {
        usage(stderr);
        return CTL_USAGE;
    }
    status = run_diff(&c);
    diff_free(&c.d);
    strset_clear(&c.ids);
    ruleset_free(c.set[0]);
    ruleset_free(c.set[1]);
    rules_env_free(&c.env);
    return status;
}
