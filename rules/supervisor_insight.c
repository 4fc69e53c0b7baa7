/*
 * supervisor_insight.c - the supervisors' page's report and forecast
 * sections (see supervisor_page.h): what `nudgectl report` and `nudgectl
 * forecast` print, read by the same functions (rules/report_read.h,
 * rules/forecast_read.h), drawn as tables and inline SVG bars. The
 * report is read per request (a few keys per rule); the forecast is
 * handed in, computed elsewhere (supervisor_forecast_compute()).
 */
#include "rules/supervisor_page.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"
#include "rules/lift.h"
#include "rules/report_read.h"

#define PAGE_FORECAST_DAYS 7

/* --- report --------------------------------------------------------------- */

static void arms_table(struct page *p, const struct report_rule *r)
{
    static const char *const head[] = {
        "Arm",       "Started",   "Reached",        "Replied",
        "Opted out", "Converted", "Conversion rate"};
    char v[REPORT_NMETRICS + 1][32];
    const char *row[REPORT_NMETRICS + 2];

    page_table_begin(p, head, REPORT_NMETRICS + 2);
    for (size_t a = 0; a < r->narms; a++) {
        row[0] = r->arms[a].name;
        for (int m = 0; m < REPORT_NMETRICS; m++) {
            snprintf(v[m], sizeof v[m], "%lld", r->arms[a].n[m]);
            row[m + 1] = v[m];
        }
        snprintf(v[REPORT_NMETRICS], sizeof v[0], "%.1f%%",
                 report_rate(&r->arms[a]) * 100);
        row[REPORT_NMETRICS + 1] = v[REPORT_NMETRICS];
        page_table_row(p, row, REPORT_NMETRICS + 2);
    }
    page_table_end(p);
}

/* Each arm's conversion rate with its 95% (Wilson) interval. */
static void rates_chart(struct page *p, const struct report_rule *r)
{
    struct page_bar *bars = calloc(r->narms, sizeof *bars);
    struct page_range *ranges = calloc(r->narms, sizeof *ranges);

    if (!bars || !ranges) {
        page_para(p, "warn", "Out of memory drawing the chart.");
        free(bars);
        free(ranges);
        return;
    }
    for (size_t a = 0; a < r->narms; a++) {
        const struct report_arm *x = &r->arms[a];
        double lo = 1, hi = 0; /* none without students */
        if (x->n[REPORT_STARTED] > 0)
            lift_wilson((long)x->n[REPORT_CONVERTED],
                        (long)x->n[REPORT_STARTED], LIFT_Z95, &lo, &hi);
        bars[a].label = x->name;
        bars[a].value = round(report_rate(x) * 1000) / 10;
        ranges[a].lo = lo * 100;
        ranges[a].hi = hi * 100;
    }
    page_bar_chart_ranges(
        p, "Conversion rate per arm, with its 95% interval (Wilson)", bars,
        ranges, r->narms, "%");
    free(bars);
    free(ranges);
}

/* One row of the lift table: arm a over h. */
static void lift_row(struct page *p, const struct config *cfg,
                     const struct report_arm *a, const struct report_arm *h)
{
    char diff[32], ci[64], rel[32];
    const char *row[] = {a->name, h->name, diff, ci, rel};
    struct lift l;

    if (!report_enough(cfg, a, h)) {
        snprintf(diff, sizeof diff, "not enough students yet");
        snprintf(ci, sizeof ci, "%lld and %lld started", a->n[REPORT_STARTED],
                 h->n[REPORT_STARTED]);
        snprintf(rel, sizeof rel, "-");
    } else {
        report_lift(a, h, &l);
        snprintf(diff, sizeof diff, "%+.1f points", l.diff * 100);
        snprintf(ci, sizeof ci, "%+.1f to %+.1f", l.lo * 100, l.hi * 100);
        if (l.has_relative)
            snprintf(rel, sizeof rel, "%+.0f%%", l.relative * 100);
        else
            snprintf(rel, sizeof rel, "-");
    }
    page_table_row(p, row, 5);
}

static void report_rule_write(struct page *p, const struct config *cfg,
                              const struct report_rule *r)
{
    static const char *const head[] = {"Arm", "Over", "Lift", "95% interval",
                                       "Relative"};
    const struct report_arm *pairs[2 * REPORT_MAX_PAIRS];
    size_t n = report_comparisons(r, pairs, 2 * REPORT_MAX_PAIRS);

    page_heading(p, r->name);
    if (!r->narms) {
        page_para(p, "note", "No students counted yet.");
        return;
    }
    arms_table(p, r);
    rates_chart(p, r);
    if (!report_find_arm(r, REPORT_HOLDOUT))
        page_para(p, "note",
                  "No holdout: no lift (`holdout 10%` in the rule keeps a "
                  "share out to compare with).");
    if (!n)
        return;
    page_table_begin(p, head, 5);
    for (size_t i = 0; i < n; i++)
        lift_row(p, cfg, pairs[2 * i], pairs[2 * i + 1]);
    page_table_end(p);
}

void supervisor_section_report(struct page *p,
                               const struct supervisor_page_src *src)
{
    const struct config *cfg = src->cfg;
    struct report_data d;
    char window[32], msg[640];

    page_section(p, "report", "Report");
    duration_format(cfg->report.window_ms, window, sizeof window);
    snprintf(msg, sizeof msg,
             "Per rule and arm (treated, holdout, each variant): the "
             "students who started it, were reached, replied, opted out, "
             "and converted (moved to a later stage within %s of their "
             "start). The lift is the difference of conversion rates over "
             "the holdout (and of each variant over the first), in "
             "percentage points, with its 95%% interval by Newcombe's "
             "hybrid score; below [report] min_students = %d started in "
             "either arm it says \"not enough students yet\". The same "
             "figures as `nudgectl report`.",
             window, cfg->report.min_students);
    page_para(p, "note", msg);
    if (supervisor_no_redis(p, src))
        return;
    if (report_read(src->rc, cfg, NULL, NULL, NULL, &d) < 0) {
        snprintf(msg, sizeof msg, "Could not read the report's counters: %s",
                 src->rc->errstr[0] ? src->rc->errstr : "out of memory");
        page_para(p, "warn", msg);
    } else if (d.nrules == 0) {
        page_para(p, "note",
                  "No rule has counted a student yet ([report] counters, "
                  "kept by nudged as rules start).");
    }
    for (size_t i = 0; i < d.nrules; i++)
        report_rule_write(p, cfg, &d.rules[i]);
    report_data_free(&d);
}

/* --- forecast ------------------------------------------------------------- */

int supervisor_forecast_compute(struct forecast_read *fr,
                                const struct config *cfg, struct rconn *rc,
                                int64_t now_ms,
                                const struct forecast_progress *progress,
                                char *err, size_t errlen)
{
    struct diag d = {0};
    char why[300];
    enum forecast_read_status st;

    memset(fr, 0, sizeof *fr);
    fr->cfg = cfg;
    fr->days = PAGE_FORECAST_DAYS;
    if (progress)
        fr->progress = *progress;
    st = forecast_read_load(fr, &d, why, sizeof why);
    diag_clear(&d);
    if (st == FORECAST_READ_RULES) {
        snprintf(err, errlen,
                 "The rules or templates have errors (`nudgectl check` "
                 "lists them): %s.",
                 why);
        return -1;
    }
    if (st != FORECAST_READ_OK) {
        snprintf(err, errlen, "The forecast could not start: %s.", why);
        return -1;
    }
    if (!rc || !rc->c) {
        snprintf(err, errlen, "Could not read Redis%s%s.",
                 rc && rc->errstr[0] ? ": " : "", rc ? rc->errstr : "");
        return -1;
    }
    if (forecast_read_run(fr, rc, now_ms, why, sizeof why) < 0) {
        snprintf(err, errlen, "Reading Redis for the forecast: %s.", why);
        return -1;
    }
    return 0;
}

/* Total per day as bars; the estimates (event rules) are in the table. */
static void days_chart(struct page *p, const struct forecast *fc)
{
    struct page_bar bars[PAGE_FORECAST_DAYS];
    char labels[PAGE_FORECAST_DAYS][16];
    int n = fc->days < PAGE_FORECAST_DAYS ? fc->days : PAGE_FORECAST_DAYS;
    double est;

    for (int d = 0; d < n; d++)
        bars[d] = (struct page_bar){
            forecast_day_text(fc, d, labels[d], sizeof labels[d]),
            (double)forecast_sum(fc, -1, d, -1, &est)};
    page_bar_chart(p,
                   "Messages per day (exact; the ~ estimates are in the "
                   "table)",
                   bars, (size_t)n, "");
}

/* Day, total, then one column per channel. */
static void days_table(struct page *p, const struct forecast *fc)
{
    size_t cols = fc->nchans + 2;
    const char **head = calloc(cols, sizeof *head),
               **row = calloc(cols, sizeof *row);
    char(*cell)[48] = calloc(cols, sizeof *cell);
    double est;

    if (!head || !row || !cell) {
        page_para(p, "warn", "Out of memory.");
        goto done;
    }
    head[0] = "Day";
    head[1] = "Messages";
    for (size_t k = 0; k < fc->nchans; k++)
        head[k + 2] = fc->chans[k].ch.name;
    page_table_begin(p, head, cols);
    for (int d = 0; d < fc->days; d++) {
        long long n = forecast_sum(fc, -1, d, -1, &est);
        row[0] = forecast_day_text(fc, d, cell[0], sizeof cell[0]);
        row[1] = forecast_count_text(n, est, cell[1], sizeof cell[1]);
        for (size_t k = 0; k < fc->nchans; k++) {
            n = forecast_sum(fc, -1, d, (long)k, &est);
            row[k + 2] =
                forecast_count_text(n, est, cell[k + 2], sizeof cell[k + 2]);
        }
        page_table_row(p, row, cols);
    }
    page_table_end(p);
done:
    free(head);
    free(row);
    free(cell);
}

/* Per channel: messages, and for SMS the segments and their cost. */
static void chans_table(struct page *p, const struct forecast *fc)
{
    static const char *const head[] = {"Channel",         "Type",
                                       "Messages",        "SMS segments",
                                       "Price a segment", "Cost"};
    char v[4][48];

    page_table_begin(p, head, 6);
    for (size_t k = 0; k < fc->nchans; k++) {
        const struct fc_chan *x = &fc->chans[k];
        long long seg, n;
        double est, cost = forecast_cost(fc, k, &seg);
        const char *row[6] = {x->ch.name, x->ch.as, v[0], "-", "-", "-"};
        n = forecast_sum(fc, -1, -1, (long)k, &est);
        forecast_count_text(n, est, v[0], sizeof v[0]);
        if (x->paused)
            strncat(v[0], " (paused)", sizeof v[0] - strlen(v[0]) - 1);
        if (forecast_is_sms(x)) {
            snprintf(v[1], sizeof v[1], "%lld", seg);
            snprintf(v[2], sizeof v[2], "%g", x->ch.price_per_segment);
            snprintf(v[3], sizeof v[3], "%.2f", cost);
            row[3] = v[1], row[4] = v[2], row[5] = v[3];
        }
        page_table_row(p, row, 6);
    }
    page_table_end(p);
}

/* What the figures leave out: estimated rules, pauses. */
static void forecast_notes(struct page *p, const struct forecast *fc)
{
    char msg[400];
    int any = 0;

    for (size_t r = 0; r < fc->nrules; r++) {
        const struct fc_rule *x = &fc->rules[r];
        if (x->estimated) {
            snprintf(msg, sizeof msg,
                     "%s: ~ estimated from %lld trigger event%s in the last "
                     "%d days (its queued runs are counted exactly).",
                     x->rule->name, x->events_30d,
                     x->events_30d == 1 ? "" : "s", FORECAST_EVENT_DAYS);
            page_para(p, "note", msg);
            any = 1;
        }
        if (x->paused || x->held_paused) {
            snprintf(msg, sizeof msg,
                     "%s: paused: %lld message%s held until resumed.",
                     x->rule->name, x->held_paused,
                     x->held_paused == 1 ? "" : "s");
            page_para(p, "warn", msg);
        }
    }
    for (size_t k = 0; k < fc->nchans; k++)
        if (fc->chans[k].paused) {
            snprintf(msg, sizeof msg,
                     "Channel %s is paused: it sends nothing until resumed.",
                     fc->chans[k].ch.name);
            page_para(p, "warn", msg);
        }
    if (any)
        page_para(p, "note",
                  "~ estimates are not in the segments, the cost or the "
                  "busiest hour.");
}

static void forecast_write(struct page *p,
                           const struct supervisor_page_src *src,
                           const struct supervisor_forecast *f)
{
    const struct forecast *fc = &f->fr->fc;
    char v[64], day[16], at[16], every[32], msg[400];
    int bday, bhour;
    double est, busiest = forecast_busiest_hour(fc, &bday, &bhour), cost = 0;
    long long seg, n = forecast_sum(fc, -1, -1, -1, &est);

    supervisor_local_time(at, sizeof at, src->cfg, f->at_ms, "%H:%M");
    if (f->every_ms > 0) {
        duration_format(f->every_ms, every, sizeof every);
        snprintf(msg, sizeof msg,
                 "As of %s: nudged computes it in the background every %s "
                 "([http] report_forecast_every).",
                 at, every);
    } else {
        snprintf(msg, sizeof msg, "As of %s, when this page was written.", at);
    }
    page_para(p, "note", msg);
    for (size_t k = 0; k < fc->nchans; k++)
        if (forecast_is_sms(&fc->chans[k]))
            cost += forecast_cost(fc, k, &seg);
    page_figures_begin(p);
    page_figure(p, "Messages, next 7 days",
                forecast_count_text(n, est, v, sizeof v));
    snprintf(v, sizeof v, "%.2f", cost);
    page_figure(p, "SMS cost", v);
    if (busiest > 0)
        snprintf(v, sizeof v, "%s %02d:00 (%.0f)",
                 forecast_day_text(fc, bday, day, sizeof day), bhour, busiest);
    else
        snprintf(v, sizeof v, "none");
    page_figure(p, "Busiest hour", v);
    page_figures_end(p);
    days_chart(p, fc);
    days_table(p, fc);
    chans_table(p, fc);
    forecast_notes(p, fc);
}

void supervisor_section_forecast(struct page *p,
                                 const struct supervisor_page_src *src)
{
    const struct supervisor_forecast *f = src->forecast;

    page_section(p, "forecast", "Forecast");
    page_para(p, "note",
              "What the rules will send over the next 7 days (today "
              "first), as `nudgectl forecast` predicts it: from the queued "
              "jobs, the schedules over today's students and the sending "
              "policy; rules started by events are estimated from their "
              "last 30 days and marked ~.");
    if (!f || f->state == SUPERVISOR_FORECAST_OFF) {
        page_para(p, "note",
                  "The forecast is off on this page ([http] "
                  "report_forecast_every = 0): `nudgectl forecast` "
                  "computes it.");
        return;
    }
    if (f->error)
        page_para(p, "warn", f->error);
    if (f->state == SUPERVISOR_FORECAST_PENDING) {
        if (!f->error)
            page_para(p, "note",
                      "The first forecast is being computed (it reads every "
                      "student): reload the page in a minute.");
        return;
    }
    forecast_write(p, src, f);
}
