/*
 * cmd_report.c - nudgectl report [RULE] [--since DATE] [--json]: per rule
 * and arm (treated, holdout, each variant), the students started, reached,
 * replied, opted out and converted, summed over the start days kept by
 * the daemons' counters (rules/report.h), and the lift of the treated
 * students and of each variant over the holdout, and of each variant over
 * the first, with its 95% interval (rules/lift.h). rules/report_read.h
 * reads the counters (the supervisors' page reads them through it too);
 * this file prints them. Writes nothing to Redis.
 *
 * nudgectl report --html FILE writes the supervisors' page instead
 * (cmd_page.c, ctl_write_page()), the report one of its sections.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"
#include "cli/progress.h"
#include "core/duration.h"
#include "rules/report_read.h"
#include "rules/supervisor_page.h"

struct report_cmd {
    struct ctl *ctl;
    struct rconn *rc;
    const char *rule, *since;
    int json;
    const char *html; /* --html FILE: the supervisors' page instead */
    struct report_data data;
    struct progress prog;
    int prog_started;
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: nudgectl -c FILE report [RULE] [--since YYYY-MM-DD] "
            "[--json]\n"
            "       nudgectl -c FILE report --html FILE\n"
            "Per rule and arm (treated, holdout, variant:NAME): students "
            "started, reached,\nreplied, opted out and moved to a later "
            "stage within [report] window of\ntheir start, and the lift "
            "over the holdout (and of each variant over the first)\nwith "
            "its 95%% interval (Newcombe's hybrid score). --since counts "
            "the students\nstarted on that day (in [delivery] timezone) "
            "or later. Reads Redis, writes\nnothing. --html FILE writes the "
            "supervisors' page instead (the report,\noverdue leads, "
            "queue and forecast, as nudged's /report) to FILE, \"-\" "
            "for\nstdout.\n");
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
        } else if (strcmp(argv[i], "--html") == 0 && i + 1 < argc &&
                   argv[i + 1][0]) {
            c->html = argv[++i];
        } else if (argv[i][0] == '-' || c->rule) {
            usage(stderr);
            return -1;
        } else {
            c->rule = argv[i];
        }
    }
    return 0;
}

/* --- text ----------------------------------------------------------------- */

static void print_lift(const struct report_cmd *c, const struct report_arm *a,
                       const struct report_arm *h)
{
    struct lift l;

    printf("  lift of %s over %s: ", a->name, h->name);
    if (!report_enough(&c->ctl->cfg, a, h)) {
        printf("not enough students yet (%lld and %lld started; [report] "
               "min_students = %d in each)\n",
               a->n[REPORT_STARTED], h->n[REPORT_STARTED],
               c->ctl->cfg.report.min_students);
        return;
    }
    report_lift(a, h, &l);
    printf("%+.1f points (95%% CI %+.1f to %+.1f, Newcombe hybrid score)",
           l.diff * 100, l.lo * 100, l.hi * 100);
    if (l.has_relative)
        printf(", %+.0f%% relative", l.relative * 100);
    printf("\n");
}

static void print_rule(const struct report_cmd *c, const struct report_rule *r)
{
    const struct report_arm *pairs[2 * REPORT_MAX_PAIRS];
    size_t n = report_comparisons(r, pairs, 2 * REPORT_MAX_PAIRS);

    printf("%s\n", r->name);
    if (!r->narms) {
        printf("  no students counted yet\n");
        return;
    }
    printf("  %-20s %9s %9s %9s %9s %9s %9s\n", "arm", "started", "reached",
           "replied", "opted_out", "converted", "rate");
    for (size_t a = 0; a < r->narms; a++) {
        const struct report_arm *x = &r->arms[a];
        printf("  %-20s", x->name);
        for (int m = 0; m < REPORT_NMETRICS; m++)
            printf(" %9lld", x->n[m]);
        printf(" %8.1f%%\n", report_rate(x) * 100);
    }
    if (!report_find_arm(r, REPORT_HOLDOUT))
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
    for (size_t i = 0; i < c->data.nrules; i++)
        print_rule(c, &c->data.rules[i]);
}

/* --- JSON ----------------------------------------------------------------- */

static json_t *arm_json(const struct report_arm *a)
{
    json_t *o = json_object();

    for (int m = 0; m < REPORT_NMETRICS; m++)
        json_object_set_new(o, report_metric_names[m], json_integer(a->n[m]));
    json_object_set_new(o, "rate", json_real(report_rate(a)));
    return o;
}

static json_t *lift_json(const struct report_cmd *c, const struct report_arm *a,
                         const struct report_arm *h)
{
    json_t *o = json_pack("{s:s, s:s}", "arm", a->name, "over", h->name);
    struct lift l;
    int ok = report_enough(&c->ctl->cfg, a, h);

    json_object_set_new(o, "enough", json_boolean(ok));
    if (!ok)
        return o;
    report_lift(a, h, &l);
    json_object_set_new(o, "difference", json_real(l.diff));
    json_object_set_new(o, "low", json_real(l.lo));
    json_object_set_new(o, "high", json_real(l.hi));
    json_object_set_new(o, "relative",
                        l.has_relative ? json_real(l.relative) : json_null());
    return o;
}

static json_t *rule_json(const struct report_cmd *c,
                         const struct report_rule *r)
{
    const struct report_arm *pairs[2 * REPORT_MAX_PAIRS];
    size_t n = report_comparisons(r, pairs, 2 * REPORT_MAX_PAIRS);
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
    for (size_t i = 0; i < c->data.nrules; i++)
        json_array_append_new(rules, rule_json(c, &c->data.rules[i]));
    json_object_set_new(o, "rules", rules);
    s = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (!s)
        return -1;
    printf("%s\n", s);
    free(s);
    return 0;
}

/* The progress line, started when the reader knows its total. */
static void on_progress(void *ctx, size_t done, size_t total)
{
    struct report_cmd *c = ctx;

    if (!c->prog_started) {
        progress_start(&c->prog, stderr, 1, "report", "counters", total, NULL);
        c->prog_started = 1;
    }
    progress_update(&c->prog, done);
}

static int read_all(struct report_cmd *c)
{
    struct report_progress pr = {on_progress, c};
    int ret =
        report_read(c->rc, &c->ctl->cfg, c->rule, c->since,
                    progress_wanted(stderr, c->json) ? &pr : NULL, &c->data);

    if (c->prog_started)
        progress_end(&c->prog);
    return ret;
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
    if (c.html && (c.rule || c.since || c.json)) {
        fprintf(stderr, "nudgectl: report: --html writes the whole page: "
                        "no RULE, --since or --json with it\n");
        return CTL_USAGE;
    }
    if (c.html)
        return ctl_write_page(ctl, c.html);
    if (!(c.rc = ctl_redis(ctl)))
        return CTL_USAGE;
    if (read_all(&c) < 0) {
        fprintf(stderr, "nudgectl: report: reading the counters: %s\n",
                c.rc->errstr[0] ? c.rc->errstr : "out of memory");
        report_data_free(&c.data);
        return CTL_USAGE;
    }
    if (c.rule && c.data.nrules == 1 && c.data.rules[0].narms == 0) {
        fprintf(stderr, "nudgectl: report: no counters for rule %s yet\n",
                c.rule);
        status = CTL_FINDING;
    }
    if (c.json ? print_json(&c) < 0 : (print_text(&c), 0))
        status = CTL_USAGE;
    report_data_free(&c.data);
    return status;
}
