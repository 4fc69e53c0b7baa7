/*
 * cmd_report.c - nudgectl report [RULE] [--since DATE] [--json]: per rule
 * and arm (treated, holdout, each variant), the students started, reached,
 * replied, opted out and converted, summed over the start days kept by
 * the daemons' counters (rules/report.h), and the lift of the treated
 * students and of each variant over the holdout, and of each variant over
 * the first, with its 95% interval (cli/lift.h). Reads Redis (SMEMBERS of the
 * indexes, then one pipelined SCARD per day, arm and count), writes nothing.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"
#include "cli/lift.h"
#include "cli/progress.h"
#include "core/duration.h"
#include "core/keys.h"
#include "rules/report.h"

#define REPORT_CHUNK 1000 /* SCARDs sent at a time */
#define MAX_PAIRS 64      /* comparisons shown per rule */

struct arm {
    char *name;
    long long n[REPORT_NMETRICS];
};

struct rule_rep {
    char *name;
    struct arm *arms;
    size_t narms;
};

struct report_cmd {
    struct ctl *ctl;
    struct rconn *rc;
    const char *rule, *since;
    int json;
    struct rule_rep *rules;
    size_t nrules;
    struct progress prog;
    size_t done;
};

static void usage(FILE *fp)
{
    fprintf(fp, "usage: nudgectl -c FILE report [RULE] [--since YYYY-MM-DD] "
                "[--json]\n"
                "Per rule and arm (treated, holdout, variant:NAME): students "
                "started, reached,\nreplied, opted out and moved to a later "
                "stage within [report] window of\ntheir start, and the lift "
                "over the holdout (and of each variant over the first)\nwith "
                "its 95%% interval (Newcombe's hybrid score). --since counts "
                "the students\nstarted on that day (in [delivery] timezone) "
                "or later. Reads Redis, writes\nnothing.\n");
}

static int valid_date(const char *s)
{
    int y, m, d, used = 0;

    return strlen(s) == 10 &&
           sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) == 3 && used == 10 &&
           m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

static int parse_args(struct report_cmd *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            c->json = 1;
        } else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
            c->since = argv[++i];
            if (!valid_date(c->since)) {
                fprintf(stderr,
                        "nudgectl: report: --since %s: a date is "
                        "YYYY-MM-DD\n",
                        c->since);
                return -1;
            }
        } else if (argv[i][0] == '-' || c->rule) {
            usage(stderr);
            return -1;
        } else {
            c->rule = argv[i];
        }
    }
    return 0;
}

/* --- reading -------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The members of set key, sorted, in *out (the caller frees each and the
 * array). 0 or -1. */
static int members(struct rconn *rc, const char *key, char ***out, size_t *n)
{
    redisReply *rep = rconn_cmd(rc, "SMEMBERS %s", key);

    *out = NULL;
    *n = 0;
    if (!rep)
        return -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements &&
        !(*out = calloc(rep->elements, sizeof **out))) {
        freeReplyObject(rep);
        return -1;
    }
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++)
        if (rep->element[i]->type == REDIS_REPLY_STRING &&
            ((*out)[*n] = strdup(rep->element[i]->str)))
            (*n)++;
    freeReplyObject(rep);
    if (*n > 1)
        qsort(*out, *n, sizeof **out, cmp_str);
    return 0;
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* treated, holdout, then the variants in name order. */
static int arm_order(const char *a)
{
    return strcmp(a, REPORT_TREATED) == 0   ? 0
           : strcmp(a, REPORT_HOLDOUT) == 0 ? 1
                                            : 2;
}

static int cmp_arm(const void *a, const void *b)
{
    const struct arm *x = a, *y = b;
    int d = arm_order(x->name) - arm_order(y->name);

    return d ? d : strcmp(x->name, y->name);
}

/* SCARDs of (day, arm, count) for days[from..to), all arms, summed into
 * r. 0 or -1. */
static int count_days(struct report_cmd *c, struct rule_rep *r, char **days,
                      size_t from, size_t to)
{
    const char *prefix = c->ctl->cfg.redis.prefix;
    char key[KEY_MAX];
    int sent = 0;

    for (size_t d = from; d < to; d++)
        for (size_t a = 0; a < r->narms; a++)
            for (int m = 0; m < REPORT_NMETRICS; m++) {
                report_set_key(key, sizeof key, prefix, r->name, days[d],
                               r->arms[a].name, (enum report_metric)m);
                if (rconn_append(c->rc, "SCARD %s", key) < 0)
                    return -1;
                sent++;
            }
    for (size_t d = from; d < to; d++)
        for (size_t a = 0; a < r->narms; a++)
            for (int m = 0; m < REPORT_NMETRICS; m++) {
                redisReply *rep = rconn_reply(c->rc);
                if (!rep)
                    return -1;
                if (rep->type == REDIS_REPLY_INTEGER)
                    r->arms[a].n[m] += rep->integer;
                freeReplyObject(rep);
            }
    c->done += (size_t)sent;
    progress_update(&c->prog, c->done);
    return 0;
}

/* The days of rule r on or after --since. */
static size_t first_day(const struct report_cmd *c, char **days, size_t n)
{
    size_t i = 0;

    while (c->since && i < n && strcmp(days[i], c->since) < 0)
        i++;
    return i;
}

/* Reads rule name's arms and counts into r. 0 or -1. */
static int read_rule(struct report_cmd *c, const char *name, struct rule_rep *r)
{
    const char *prefix = c->ctl->cfg.redis.prefix;
    char key[KEY_MAX], **days = NULL, **arms = NULL;
    size_t ndays = 0, narms = 0, step, d;
    int ret = -1;

    memset(r, 0, sizeof *r);
    if (!(r->name = strdup(name)))
        return -1;
    report_index_key(key, sizeof key, prefix, name, "days");
    if (members(c->rc, key, &days, &ndays) < 0)
        goto done;
    report_index_key(key, sizeof key, prefix, name, "arms");
    if (members(c->rc, key, &arms, &narms) < 0)
        goto done;
    if (narms && !(r->arms = calloc(narms, sizeof *r->arms)))
        goto done;
    for (size_t a = 0; a < narms; a++, r->narms++)
        r->arms[a].name = arms[a], arms[a] = NULL;
    if (r->narms > 1)
        qsort(r->arms, r->narms, sizeof *r->arms, cmp_arm);
    step = r->narms ? REPORT_CHUNK / (r->narms * REPORT_NMETRICS) + 1 : 1;
    for (d = first_day(c, days, ndays); d < ndays; d += step)
        if (count_days(c, r, days, d, d + step < ndays ? d + step : ndays) < 0)
            goto done;
    ret = 0;
done:
    free_strs(days, ndays);
    free_strs(arms, narms);
    return ret;
}

/* How many SCARDs the report will send, for the progress line. */
static size_t count_keys(struct report_cmd *c, char **names, size_t n)
{
    const char *prefix = c->ctl->cfg.redis.prefix;
    char key[KEY_MAX];
    size_t total = 0;

    for (size_t i = 0; i < n; i++) {
        long long days = 0, arms = 0;
        redisReply *rep;
        report_index_key(key, sizeof key, prefix, names[i], "days");
        if ((rep = rconn_cmd(c->rc, "SCARD %s", key))) {
            days = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
            freeReplyObject(rep);
        }
        report_index_key(key, sizeof key, prefix, names[i], "arms");
        if ((rep = rconn_cmd(c->rc, "SCARD %s", key))) {
            arms = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
            freeReplyObject(rep);
        }
        total += (size_t)(days * arms * REPORT_NMETRICS);
    }
    return total;
}

static int read_all(struct report_cmd *c)
{
    char key[KEY_MAX], **names = NULL, *one[1];
    size_t n = 0;
    int ret = 0;

    if (c->rule) {
        one[0] = (char *)c->rule;
    } else {
        report_rules_key(key, sizeof key, c->ctl->cfg.redis.prefix);
        if (members(c->rc, key, &names, &n) < 0)
            return -1;
    }
    if (!(c->rules = calloc(c->rule ? 1 : n ? n : 1, sizeof *c->rules))) {
        free_strs(names, n);
        return -1;
    }
    progress_start(&c->prog, stderr, progress_wanted(stderr, c->json), "report",
                   "counters",
                   count_keys(c, c->rule ? one : names, c->rule ? 1 : n), NULL);
    for (size_t i = 0; i < (c->rule ? 1 : n) && ret == 0; i++, c->nrules++)
        ret = read_rule(c, c->rule ? c->rule : names[i], &c->rules[i]);
    progress_end(&c->prog);
    free_strs(names, n);
    return ret;
}

/* --- the figures ---------------------------------------------------------- */

static const struct arm *find_arm(const struct rule_rep *r, const char *name)
{
    for (size_t a = 0; a < r->narms; a++)
        if (strcmp(r->arms[a].name, name) == 0)
            return &r->arms[a];
    return NULL;
}

static double rate(const struct arm *a)
{
    return a->n[REPORT_STARTED] > 0
               ? (double)a->n[REPORT_CONVERTED] / (double)a->n[REPORT_STARTED]
               : 0;
}

/* Both arms have [report] min_students started. */
static int enough(const struct report_cmd *c, const struct arm *a,
                  const struct arm *h)
{
    long long min = c->ctl->cfg.report.min_students;

    return a->n[REPORT_STARTED] >= min && h->n[REPORT_STARTED] >= min;
}

static void lift_of(const struct arm *a, const struct arm *h, struct lift *l)
{
    lift_newcombe((long)a->n[REPORT_CONVERTED], (long)a->n[REPORT_STARTED],
                  (long)h->n[REPORT_CONVERTED], (long)h->n[REPORT_STARTED],
                  LIFT_Z95, l);
}

/* The comparisons of a rule, each an arm over a base: every arm over
 * the holdout, and each variant but the first over the first (the
 * variants in name order). Returns how many went into pairs (of room
 * max). */
static size_t comparisons(const struct rule_rep *r, const struct arm **pairs,
                          size_t max)
{
    const struct arm *h = find_arm(r, REPORT_HOLDOUT), *first = NULL;
    size_t n = 0, vlen = strlen(REPORT_VARIANT);

    for (size_t a = 0; a < r->narms && n + 2 <= max; a++) {
        const struct arm *x = &r->arms[a];
        if (x == h)
            continue;
        if (h)
            pairs[n++] = x, pairs[n++] = h;
        if (strncmp(x->name, REPORT_VARIANT, vlen) != 0)
            continue;
        if (!first)
            first = x;
        else if (n + 2 <= max)
            pairs[n++] = x, pairs[n++] = first;
    }
    return n / 2;
}

/* --- text ----------------------------------------------------------------- */

static void print_lift(const struct report_cmd *c, const struct arm *a,
                       const struct arm *h)
{
    struct lift l;

    printf("  lift of %s over %s: ", a->name, h->name);
    if (!enough(c, a, h)) {
        printf("not enough students yet (%lld and %lld started; [report] "
               "min_students = %d in each)\n",
               a->n[REPORT_STARTED], h->n[REPORT_STARTED],
               c->ctl->cfg.report.min_students);
        return;
    }
    lift_of(a, h, &l);
    printf("%+.1f points (95%% CI %+.1f to %+.1f, Newcombe hybrid score)",
           l.diff * 100, l.lo * 100, l.hi * 100);
    if (l.has_relative)
        printf(", %+.0f%% relative", l.relative * 100);
    printf("\n");
}

static void print_rule(const struct report_cmd *c, const struct rule_rep *r)
{
    const struct arm *pairs[2 * MAX_PAIRS];
    size_t n = comparisons(r, pairs, 2 * MAX_PAIRS);

    printf("%s\n", r->name);
    if (!r->narms) {
        printf("  no students counted yet\n");
        return;
    }
    printf("  %-20s %9s %9s %9s %9s %9s %9s\n", "arm", "started", "reached",
           "replied", "opted_out", "converted", "rate");
    for (size_t a = 0; a < r->narms; a++) {
        const struct arm *x = &r->arms[a];
        printf("  %-20s", x->name);
        for (int m = 0; m < REPORT_NMETRICS; m++)
            printf(" %9lld", x->n[m]);
        printf(" %8.1f%%\n", rate(x) * 100);
    }
    if (!find_arm(r, REPORT_HOLDOUT))
        printf("  no holdout: no lift (`holdout 10%%` in the rule keeps a "
               "share out to compare with)\n");
    for (size_t i = 0; i < n; i++)
        print_lift(c, pairs[2 * i], pairs[2 * i + 1]);
}

static void print_text(const struct report_cmd *c)
{
    char window[32];

    duration_format(c->ctl->cfg.report.window_ms, window, sizeof window);
    printf("report: students started %s%s; counted within %s of their "
           "start; converted = moved to a later stage\n",
           c->since ? "since " : "on any day", c->since ? c->since : "",
           window);
    for (size_t i = 0; i < c->nrules; i++)
        print_rule(c, &c->rules[i]);
}

/* --- JSON ----------------------------------------------------------------- */

static json_t *arm_json(const struct arm *a)
{
    json_t *o = json_object();

    for (int m = 0; m < REPORT_NMETRICS; m++)
        json_object_set_new(o, report_metric_names[m], json_integer(a->n[m]));
    json_object_set_new(o, "rate", json_real(rate(a)));
    return o;
}

static json_t *lift_json(const struct report_cmd *c, const struct arm *a,
                         const struct arm *h)
{
    json_t *o = json_pack("{s:s, s:s}", "arm", a->name, "over", h->name);
    struct lift l;
    int ok = enough(c, a, h);

    json_object_set_new(o, "enough", json_boolean(ok));
    if (!ok)
        return o;
    lift_of(a, h, &l);
    json_object_set_new(o, "difference", json_real(l.diff));
    json_object_set_new(o, "low", json_real(l.lo));
    json_object_set_new(o, "high", json_real(l.hi));
    json_object_set_new(o, "relative",
                        l.has_relative ? json_real(l.relative) : json_null());
    return o;
}

static json_t *rule_json(const struct report_cmd *c, const struct rule_rep *r)
{
    const struct arm *pairs[2 * MAX_PAIRS];
    size_t n = comparisons(r, pairs, 2 * MAX_PAIRS);
    json_t *o = json_pack("{s:s}", "rule", r->name), *arms = json_object(),
           *lifts = json_array();

    for (size_t a = 0; a < r->narms; a++)
        json_object_set_new(arms, r->arms[a].name, arm_json(&r->arms[a]));
    for (size_t i = 0; i < n; i++)
        json_array_append_new(lifts,
                              lift_json(c, pairs[2 * i], pairs[2 * i + 1]));
    json_object_set_new(o, "arms", arms);
    json_object_set_new(o, "lift", lifts);
    return o;
}

static int print_json(const struct report_cmd *c)
{
    json_t *o = json_object(), *rules = json_array();
    char *s;

    json_object_set_new(o, "since",
                        c->since ? json_string(c->since) : json_null());
    json_object_set_new(o, "window_seconds",
                        json_integer(c->ctl->cfg.report.window_ms / 1000));
    json_object_set_new(o, "min_students",
                        json_integer(c->ctl->cfg.report.min_students));
    json_object_set_new(o, "confidence", json_real(0.95));
    json_object_set_new(o, "method", json_string("newcombe-hybrid-score"));
    for (size_t i = 0; i < c->nrules; i++)
        json_array_append_new(rules, rule_json(c, &c->rules[i]));
    json_object_set_new(o, "rules", rules);
    s = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (!s)
        return -1;
    printf("%s\n", s);
    free(s);
    return 0;
}

static void free_rules(struct report_cmd *c)
{
    for (size_t i = 0; i < c->nrules; i++) {
        for (size_t a = 0; a < c->rules[i].narms; a++)
            free(c->rules[i].arms[a].name);
        free(c->rules[i].arms);
        free(c->rules[i].name);
    }
    free(c->rules);
}

int cmd_report(struct ctl *ctl, int argc, char **argv)
{
    struct report_cmd c = {.ctl = ctl};
    int status = CTL_OK;

    if (ctl_wants_help(argc, argv)) {
        usage(stdout);
        return CTL_OK;
    }
    if (parse_args(&c, argc, argv) < 0)
        return CTL_USAGE;
    if (!(c.rc = ctl_redis(ctl)))
        return CTL_USAGE;
    if (read_all(&c) < 0) {
        fprintf(stderr, "nudgectl: report: reading the counters: %s\n",
                c.rc->errstr[0] ? c.rc->errstr : "out of memory");
        free_rules(&c);
        return CTL_USAGE;
    }
    if (c.rule && c.nrules == 1 && c.rules[0].narms == 0) {
        fprintf(stderr, "nudgectl: report: no counters for rule %s yet\n",
                c.rule);
        status = CTL_FINDING;
    }
    if (c.json ? print_json(&c) < 0 : (print_text(&c), 0))
        status = CTL_USAGE;
    free_rules(&c);
    return status;
}
