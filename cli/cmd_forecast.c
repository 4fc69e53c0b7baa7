/*
 * cmd_forecast.c - nudgectl forecast [--days N] [--rule R] [--rules-dir
 * DIR] [--json]: how many messages each rule will send per day and per
 * channel over the next days, their SMS segments and cost, and the
 * busiest hour. rules/forecast_read.h reads Redis (the pauses, the step
 * jobs of the delayed queue, every student, the events of the last 30
 * days) and walks each student through the daemon's code
 * (rules/forecast.h); the supervisors' page draws the same forecast
 * through it. This file parses the arguments and prints. Nothing is
 * written to Redis. docs/insight.md, "Forecast", says how to read the
 * output and what is estimated.
 *
 * Exit: 0 the forecast is printed, 1 the rules or templates have errors
 * (file:line:col: message on stderr), 2 a usage error, an unknown rule,
 * or Redis failed.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"
#include "cli/progress.h"
#include "core/clock.h"
#include "rules/forecast_read.h"
#include "rules/schedule.h"

struct fc_cmd {
    struct ctl *ctl;
    int json;
    struct forecast_read fr;
    struct progress prog;
    int prog_started;
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: nudgectl -c FILE forecast [--days N] [--rule R] "
            "[--rules-dir DIR] [--json]\n"
            "Predicts what the rules will send over the next N days "
            "(default 7, today\nfirst): messages per rule, day and channel, "
            "SMS segments and cost, the\nbusiest hour. From the queued "
            "jobs, the schedules over today's students and\nthe sending "
            "policy; event rules from their last 30 days (estimated).\n"
            "Reads Redis, writes nothing.\n");
}

static int parse_args(struct fc_cmd *c, int argc, char **argv)
{
    char *end;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            c->json = 1;
        } else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
            long n = strtol(argv[++i], &end, 10);
            if (end == argv[i] || *end || n < 1 || n > FORECAST_DAYS_MAX) {
                fprintf(stderr,
                        "nudgectl: forecast: --days \"%s\": a number of days "
                        "from 1 to %d\n",
                        argv[i], FORECAST_DAYS_MAX);
                return -1;
            }
            c->fr.days = (int)n;
        } else if (strcmp(argv[i], "--rule") == 0 && i + 1 < argc) {
            c->fr.rule = argv[++i];
        } else if (strcmp(argv[i], "--rules-dir") == 0 && i + 1 < argc) {
            c->fr.dir = argv[++i];
        } else {
            return -1;
        }
    }
    return 0;
}

/* --- output ------------------------------------------------------------------------ */

static int cell_empty(const struct fc_cell *cell)
{
    return cell->messages == 0 && cell->estimated < FORECAST_EST_SHOWN;
}

static json_t *rule_json(const struct fc_cmd *c, size_t r)
{
    const struct forecast *fc = &c->fr.fc;
    const struct fc_rule *fr = &fc->rules[r];
    json_t *days = json_array(), *o;
    char day[16];
    double est;
    long long n = forecast_sum(fc, (long)r, -1, -1, &est);

    for (int d = 0; d < fc->days; d++)
        for (size_t ch = 0; ch < fc->nchans; ch++) {
            const struct fc_cell *cell = forecast_cell(fc, r, d, ch);
            if (cell_empty(cell))
                continue;
            o = json_pack("{s:s, s:s, s:I}", "day",
                          forecast_day_text(fc, d, day, sizeof day), "channel",
                          fc->chans[ch].ch.name, "messages",
                          (json_int_t)cell->messages);
            if (fr->estimated)
                json_object_set_new(o, "estimated",
                                    json_real(cell->estimated));
            if (forecast_is_sms(&fc->chans[ch]))
                json_object_set_new(o, "segments",
                                    json_integer(cell->segments));
            json_array_append_new(days, o);
        }
    o = json_pack("{s:s, s:s, s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
                  "s:b, s:b, s:o}",
                  "name", fr->rule->name, "file", fr->rule->src->file, "line",
                  fr->rule->src->at.line, "trigger",
                  fr->estimated ? "events" : "schedule", "messages",
                  (json_int_t)n, "runs", (json_int_t)fr->runs, "held_out",
                  (json_int_t)fr->held_out, "skipped",
                  (json_int_t)fr->skipped, "deferred",
                  (json_int_t)fr->deferred, "held_by_pause",
                  (json_int_t)fr->held_paused, "after_horizon",
                  (json_int_t)fr->later, "paused", fr->paused != 0,
                  "estimated", fr->estimated, "days", days);
    if (fr->estimated) {
        json_object_set_new(o, "estimated_messages", json_real(est));
        json_object_set_new(o, "trigger_events_30d",
                            json_integer(fr->events_30d));
    }
    return o;
}

static json_t *chan_json(const struct forecast *fc, size_t ch)
{
    const struct fc_chan *x = &fc->chans[ch];
    double est;
    long long seg, n = forecast_sum(fc, -1, -1, (long)ch, &est);
    double cost = forecast_cost(fc, ch, &seg);
    json_t *o = json_pack("{s:s, s:s, s:I, s:f, s:b}", "name", x->ch.name,
                          "type", x->ch.as, "messages", (json_int_t)n,
                          "estimated_messages", est, "paused", x->paused);

    if (forecast_is_sms(x)) {
        json_object_set_new(o, "segments", json_integer(seg));
        json_object_set_new(o, "price_per_segment",
                            json_real(x->ch.price_per_segment));
        json_object_set_new(o, "cost", json_real(cost));
    }
    return o;
}

static void print_json(const struct fc_cmd *c)
{
    const struct forecast *fc = &c->fr.fc;
    json_t *rules = json_array(), *chans = json_array(), *o;
    char from[32], day[16];
    int bday, bhour;
    double est, busiest = forecast_busiest_hour(fc, &bday, &bhour);
    long long n = forecast_sum(fc, -1, -1, -1, &est);

    for (size_t r = 0; r < fc->nrules; r++)
        if (forecast_read_wanted(&c->fr, r))
            json_array_append_new(rules, rule_json(c, r));
    for (size_t ch = 0; ch < fc->nchans; ch++)
        json_array_append_new(chans, chan_json(fc, ch));
    o = json_pack("{s:s, s:s, s:i, s:I, s:{s:I, s:I}, s:I, s:f, s:o, s:o}",
                  "from", schedule_format(c->fr.now_ms, from, sizeof from),
                  "timezone", c->ctl->cfg.delivery.timezone, "days",
                  fc->days, "students", (json_int_t)fc->students,
                  "queued_jobs", "read", (json_int_t)c->fr.jobs_seen, "stale",
                  (json_int_t)c->fr.jobs_stale, "messages", (json_int_t)n,
                  "estimated_messages", est, "rules", rules, "channels",
                  chans);
    json_object_set_new(
        o, "busiest_hour",
        busiest > 0 ? json_pack("{s:s, s:i, s:I}", "day",
                                forecast_day_text(fc, bday, day, sizeof day), "hour",
                                bhour, "messages", (json_int_t)busiest)
                    : json_null());
    json_dumpf(o, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(o);
}

static void print_rules(const struct fc_cmd *c, int width)
{
    const struct forecast *fc = &c->fr.fc;
    char day[16], b[48], seg[24];

    printf("%-*s  %-10s  %-12s %16s %9s\n", width, "rule", "day", "channel",
           "messages", "segments");
    for (size_t r = 0; r < fc->nrules; r++) {
        const struct fc_rule *fr = &fc->rules[r];
        int printed = 0;
        if (!forecast_read_wanted(&c->fr, r))
            continue;
        for (int d = 0; d < fc->days; d++)
            for (size_t ch = 0; ch < fc->nchans; ch++) {
                const struct fc_cell *cell = forecast_cell(fc, r, d, ch);
                if (cell_empty(cell))
                    continue;
                snprintf(seg, sizeof seg, "%lld", cell->segments);
                printf("%-*s  %-10s  %-12s %16s %9s\n", width,
                       fr->rule->name, forecast_day_text(fc, d, day, sizeof day),
                       fc->chans[ch].ch.name,
                       forecast_count_text(cell->messages, cell->estimated, b,
                                           sizeof b),
                       forecast_is_sms(&fc->chans[ch]) ? seg : "-");
                printed = 1;
            }
        if (!printed)
            printf("%-*s  %-10s  %-12s %16s %9s\n", width, fr->rule->name,
                   "-", "-", "0", "-");
    }
}

static void print_notes(const struct fc_cmd *c)
{
    const struct forecast *fc = &c->fr.fc;

    for (size_t r = 0; r < fc->nrules; r++) {
        const struct fc_rule *fr = &fc->rules[r];
        if (!forecast_read_wanted(&c->fr, r))
            continue;
        if (fr->estimated)
            printf("  %s: ~ estimated from %lld trigger event%s in the "
                   "last %d days (its queued runs are counted exactly)\n",
                   fr->rule->name, fr->events_30d,
                   fr->events_30d == 1 ? "" : "s", FORECAST_EVENT_DAYS);
        if (fr->paused || fr->held_paused)
            printf("  %s: paused: %lld message%s held until resumed\n",
                   fr->rule->name, fr->held_paused,
                   fr->held_paused == 1 ? "" : "s");
        if (fr->held_out || fr->skipped || fr->deferred || fr->later)
            printf("  %s: %lld held out, %lld skipped (opt-out, cap, "
                   "policy, template), %lld moved by quiet hours, blackout "
                   "or a cap, %lld after the last day\n",
                   fr->rule->name, fr->held_out, fr->skipped, fr->deferred,
                   fr->later);
    }
    for (size_t ch = 0; ch < fc->nchans; ch++)
        if (fc->chans[ch].paused)
            printf("  channel %s is paused: it sends nothing until resumed\n",
                   fc->chans[ch].ch.name);
}

static void print_text(const struct fc_cmd *c)
{
    const struct forecast *fc = &c->fr.fc;
    char from[32], day[16], b[48];
    int width = 4, bday, bhour, any_est = 0;
    double est, busiest = forecast_busiest_hour(fc, &bday, &bhour);

    printf("forecast from %s over %d day%s (%s), %lld students, %zu "
           "queued step job%s\n\n",
           schedule_format(c->fr.now_ms, from, sizeof from), fc->days,
           fc->days == 1 ? "" : "s", c->ctl->cfg.delivery.timezone,
           fc->students, c->fr.njobs, c->fr.njobs == 1 ? "" : "s");
    for (size_t r = 0; r < fc->nrules; r++) {
        if ((int)strlen(fc->rules[r].rule->name) > width)
            width = (int)strlen(fc->rules[r].rule->name);
        any_est |= fc->rules[r].estimated && forecast_read_wanted(&c->fr, r);
    }
    print_rules(c, width);
    printf("\ntotals per channel:\n");
    for (size_t ch = 0; ch < fc->nchans; ch++) {
        const struct fc_chan *x = &fc->chans[ch];
        long long seg, n = forecast_sum(fc, -1, -1, (long)ch, &est);
        double cost = forecast_cost(fc, ch, &seg);
        if (n == 0 && est < FORECAST_EST_SHOWN && !x->paused)
            continue;
        printf("  %-12s %s messages%s", x->ch.name,
               forecast_count_text(n, est, b, sizeof b),
               x->paused ? " (paused)" : "");
        if (forecast_is_sms(x))
            printf(", %lld segments, cost %.2f (%g a segment)", seg, cost,
                   x->ch.price_per_segment);
        printf("\n");
    }
    if (busiest > 0)
        printf("busiest hour: %s %02d:00-%02d:00, %.0f messages\n",
               forecast_day_text(fc, bday, day, sizeof day), bhour, bhour + 1,
               busiest);
    else
        printf("busiest hour: none (nothing is sent)\n");
    printf("\nnotes:\n");
    print_notes(c);
    if (any_est)
        printf("  ~ estimates are not in the segments, the cost or the "
               "busiest hour\n");
}

/* --- the command ------------------------------------------------------------------- */

/* The progress line, started when the walk knows its total. */
static int on_progress(void *ctx, size_t done, size_t total)
{
    struct fc_cmd *c = ctx;

    if (!c->prog_started) {
        progress_start(&c->prog, stderr, 1, "forecast", "students", total,
                       NULL);
        c->prog_started = 1;
    }
    progress_update(&c->prog, done);
    return 0;
}

static int run_forecast(struct fc_cmd *c)
{
    struct diag d = {0};
    struct rconn *rc;
    char err[300];
    enum forecast_read_status st;
    int ret;

    c->fr.cfg = &c->ctl->cfg;
    if (progress_wanted(stderr, c->json))
        c->fr.progress = (struct forecast_progress){on_progress, c};
    st = forecast_read_load(&c->fr, &d, err, sizeof err);
    diag_print(&d, stderr);
    diag_clear(&d);
    if (st != FORECAST_READ_OK) {
        fprintf(stderr, "nudgectl: forecast: %s\n", err);
        return st == FORECAST_READ_RULES ? CTL_FINDING : CTL_USAGE;
    }
    if (!(rc = ctl_redis(c->ctl)))
        return CTL_USAGE;
    ret = forecast_read_run(&c->fr, rc, clock_now_ms(), err, sizeof err);
    if (c->prog_started)
        progress_end(&c->prog);
    if (ret < 0) {
        fprintf(stderr, "nudgectl: forecast: reading Redis: %s\n", err);
        return CTL_USAGE;
    }
    if (c->json)
        print_json(c);
    else
        print_text(c);
    return CTL_OK;
}

int cmd_forecast(struct ctl *ctl, int argc, char **argv)
{
    struct fc_cmd c = {.ctl = ctl};
    int status;

    if (ctl_wants_help(argc, argv)) {
        usage(stdout);
        return CTL_OK;
    }
    c.fr.days = 7;
    if (parse_args(&c, argc, argv) < 0) {
        usage(stderr);
        return CTL_USAGE;
    }
    status = run_forecast(&c);
    forecast_read_free(&c.fr);
    return status;
}
