/*
 * supervisor_page.c - the sections of the supervisors' page (see
 * supervisor_page.h): the table of sections, the overdue leads
 * (rules/leads_list.h, as `nudgectl overdue`), the queue's health and
 * what is paused (queues/delayed.h and core/pause.h, as `nudgectl queue
 * stats`), the channels' health (the metrics nudged keeps,
 * core/metrics.h); the report and the forecast are supervisor_insight.c's.
 */
#include "rules/supervisor_page.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/metrics.h"
#include "core/pause.h"
#include "core/tz.h"
#include "queues/delayed.h"
#include "rules/leads_list.h"

/* The page, in order. A new section is one function and one line here. */
static const supervisor_section_fn sections[] = {
    supervisor_section_report,   /* `nudgectl report`'s figures */
    supervisor_section_overdue,  /* the leads past their deadline */
    supervisor_section_queue,    /* the delayed queue */
    supervisor_section_channels, /* this daemon's channel metrics */
    supervisor_section_forecast, /* `nudgectl forecast`'s figures */
};

void supervisor_local_time(char *buf, size_t n, const struct config *cfg,
                           int64_t ms, const char *fmt)
{
    time_t t = (time_t)(tz_to_local(cfg->delivery.timezone, ms) / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    if (!strftime(buf, n, fmt, &tm) && n)
        buf[0] = '\0';
}

/* "2026-11-30 18:05 Asia/Shanghai" in the students' default zone. */
static void local_stamp(char *buf, size_t n, const struct config *cfg,
                        int64_t ms)
{
    char when[32];

    supervisor_local_time(when, sizeof when, cfg, ms, "%Y-%m-%d %H:%M");
    snprintf(buf, n, "%s %s", when, cfg->delivery.timezone);
}

char *supervisor_page_build(const struct supervisor_page_src *src)
{
    struct page p;
    char stamp[96], sub[200];

    local_stamp(stamp, sizeof stamp, src->cfg, src->now_ms);
    snprintf(sub, sizeof sub,
             "As of %s. Phone numbers and email addresses are masked.", stamp);
    page_begin(&p, "nudge: the supervisors' page", sub);
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        sections[i](&p, src);
    return page_end(&p);
}

int supervisor_no_redis(struct page *p, const struct supervisor_page_src *src)
{
    char msg[320];

    if (src->rc && src->rc->c)
        return 0;
    snprintf(msg, sizeof msg, "Could not read Redis%s%s.",
             src->rc && src->rc->errstr[0] ? ": " : "",
             src->rc ? src->rc->errstr : "");
    page_para(p, "warn", msg);
    return 1;
}

/* --- overdue leads ------------------------------------------------------ */

/* The hours of lateness each owner's overdue leads add up to. */
struct owner_sum {
    const char *owner;
    double hours;
    size_t leads;
};

static int by_hours(const void *a, const void *b)
{
    const struct owner_sum *x = a, *y = b;
    return x->hours > y->hours ? -1 : x->hours < y->hours ? 1 : 0;
}

#define CHART_OWNERS 15

/* The chart of overdue hours per owner (the CHART_OWNERS furthest
 * behind). */
static void owners_chart(struct page *p, const struct lead_list *l, int64_t now)
{
    struct owner_sum *s = calloc(l->n ? l->n : 1, sizeof *s);
    struct page_bar bars[CHART_OWNERS];
    char labels[CHART_OWNERS][200];
    size_t n = 0;
    int minutes;

    if (!s) {
        page_para(p, "warn", "Out of memory drawing the chart.");
        return;
    }
    for (size_t k = 0; k < l->n; k++) {
        size_t i = 0;
        while (i < n && strcmp(s[i].owner, l->v[k].owner) != 0)
            i++;
        if (i == n)
            s[n++].owner = l->v[k].owner;
        s[i].hours += (double)(now - l->v[k].deadline_ms) / 3600000.0;
        s[i].leads++;
    }
    qsort(s, n, sizeof *s, by_hours);
    if (n > CHART_OWNERS)
        n = CHART_OWNERS;
    /* under an hour at most: minutes, else 0.0 h everywhere */
    minutes = n && s[0].hours < 1;
    for (size_t i = 0; i < n; i++) {
        snprintf(labels[i], sizeof labels[i], "%s (%zu)", s[i].owner,
                 s[i].leads);
        bars[i].label = labels[i];
        bars[i].value = round(s[i].hours * (minutes ? 600 : 10)) / 10;
    }
    page_bar_chart(p,
                   minutes ? "Overdue minutes per owner (number of leads)"
                           : "Overdue hours per owner (number of leads)",
                   bars, n, minutes ? " min" : " h");
    free(s);
}

void supervisor_overdue_write(struct page *p, const struct lead_list *l,
                              int64_t now)
{
    static const char *const head[] = {"Overdue by", "Student", "Name", "Stage",
                                       "Owner",      "Phone",   "Email"};
    char n[32], late[32], most[32];
    size_t shown =
        l->n < SUPERVISOR_PAGE_MAX_LEADS ? l->n : SUPERVISOR_PAGE_MAX_LEADS;

    snprintf(n, sizeof n, "%zu", l->n);
    page_figures_begin(p);
    page_figure(p, "Overdue leads", n);
    page_figure(p, "Most overdue by",
                l->n ? leads_span(now - l->v[0].deadline_ms, most, sizeof most)
                     : "-");
    page_figures_end(p);
    if (l->n == 0) {
        page_para(p, "note", "No lead is past its follow-up deadline.");
        return;
    }
    owners_chart(p, l, now);
    page_table_begin(p, head, sizeof head / sizeof head[0]);
    for (size_t k = 0; k < shown; k++) {
        const struct lead *x = &l->v[k];
        const char *row[] = {
            leads_span(now - x->deadline_ms, late, sizeof late),
            x->id,
            x->name,
            x->stage,
            x->owner,
            x->phone[0] ? x->phone : "-",
            x->email[0] ? x->email : "-"};
        page_table_row(p, row, sizeof row / sizeof row[0]);
    }
    page_table_end(p);
    if (shown < l->n) {
        char more[160];
        snprintf(more, sizeof more,
                 "And %zu more: `nudgectl overdue` lists them all.",
                 l->n - shown);
        page_para(p, "note", more);
    }
}

void supervisor_section_overdue(struct page *p,
                                const struct supervisor_page_src *src)
{
    struct lead_list l = {0};
    char msg[320];

    page_section(p, "overdue", "Overdue leads");
    page_para(p, "note",
              "Open leads past their follow-up deadline (assignment + "
              "[leads] followup_within) with no followup that counts, most "
              "overdue first: the same list as `nudgectl overdue`.");
    if (supervisor_no_redis(p, src))
        return;
    if (leads_list_open(src->rc, src->cfg, NULL, NULL, &l) < 0) {
        snprintf(msg, sizeof msg, "Could not read the leads: %s",
                 src->rc->errstr);
        page_para(p, "warn", msg);
    } else {
        leads_list_keep_overdue(&l, src->now_ms);
        supervisor_overdue_write(p, &l, src->now_ms);
    }
    leads_list_free(&l);
}

/* --- queue -------------------------------------------------------------- */

static void figure_ll(struct page *p, const char *name, long long v)
{
    char buf[32];

    snprintf(buf, sizeof buf, "%lld", v);
    page_figure(p, name, buf);
}

/* What `nudgectl pause` stopped: messages wait in the queue meanwhile. */
static void paused_table(struct page *p, const struct supervisor_page_src *src)
{
    static const char *const head[] = {"Paused", "Since", "By"};
    struct pause_entry *v;
    size_t n;
    char since[96], msg[320];

    if (pause_list(src->rc, src->cfg->redis.prefix, &v, &n) < 0) {
        snprintf(msg, sizeof msg, "Could not read the pauses: %s",
                 src->rc->errstr);
        page_para(p, "warn", msg);
        return;
    }
    if (n == 0) {
        page_para(p, "note", "Nothing is paused.");
        return;
    }
    page_para(p, "warn",
              "Paused: their messages wait in the queue until `nudgectl "
              "resume` lifts the pause.");
    page_table_begin(p, head, 3);
    for (size_t i = 0; i < n; i++) {
        const char *row[] = {v[i].field, since, v[i].actor};
        local_stamp(since, sizeof since, src->cfg, v[i].since_ms);
        page_table_row(p, row, 3);
    }
    page_table_end(p);
    free(v);
}

void supervisor_section_queue(struct page *p,
                              const struct supervisor_page_src *src)
{
    struct queue_stats st;
    struct queue *q;
    char buf[320];

    page_section(p, "queue", "Queue");
    page_para(p, "note",
              "The delayed queue of rule steps and messages, as `nudgectl "
              "queue stats` shows it: due now, due later, leased by a "
              "worker, and dead letters (given up after their retries).");
    if (supervisor_no_redis(p, src))
        return;
    if (!(q = queue_open(src->cfg, src->rc))) {
        page_para(p, "warn", "Out of memory.");
        return;
    }
    if (queue_stats(q, &st) < 0) {
        snprintf(buf, sizeof buf, "Could not read the queue: %s",
                 queue_error(q));
        page_para(p, "warn", buf);
        queue_close(q);
        return;
    }
    page_figures_begin(p);
    figure_ll(p, "Due now", st.due);
    figure_ll(p, "Due later", st.scheduled);
    figure_ll(p, "Leased", st.in_flight);
    figure_ll(p, "Dead letters", st.dead);
    snprintf(buf, sizeof buf, "%.1f s", (double)st.oldest_lag_ms / 1000.0);
    page_figure(p, "Oldest due job's lag", buf);
    page_figures_end(p);
    if (st.dead > 0) {
        snprintf(buf, sizeof buf,
                 "%lld dead letter%s: `nudgectl queue dead` shows their "
                 "errors, `nudgectl queue retry ID` puts one back.",
                 st.dead, st.dead == 1 ? "" : "s");
        page_para(p, "warn", buf);
    }
    if (st.oldest_lag_ms > 60000)
        page_para(p, "warn",
                  "The oldest due job waits for more than a minute: the "
                  "workers are behind, or nudged is not running.");
    queue_close(q);
    paused_table(p, src);
}

/* --- channels ----------------------------------------------------------- */

/* The value of name{channel="CH"[,extra]} in this process, 0 if none. */
static long long channel_value(const char *name, const char *channel,
                               const char *extra)
{
    char labels[320];

    snprintf(labels, sizeof labels, "channel=\"%s\"%s%s", channel,
             extra ? "," : "", extra ? extra : "");
    return (long long)metric_value(metric_find(name, labels));
}

/* Latency "0.12 s / ≤ 0.25 s" (mean / 95th percentile's bucket). */
static void latency_text(char *buf, size_t n, const char *channel)
{
    char labels[240];
    const struct metric *m;
    uint64_t count;
    double sum, p95;

    snprintf(labels, sizeof labels, "channel=\"%s\"", channel);
    m = metric_find("nudge_channel_latency_seconds", labels);
    metric_histogram_read(m, &count, &sum);
    p95 = metric_histogram_quantile(m, 0.95);
    if (count == 0)
        snprintf(buf, n, "-");
    else if (isinf(p95))
        snprintf(buf, n, "%.2f s / > 30 s", sum / (double)count);
    else
        snprintf(buf, n, "%.2f s / \xe2\x89\xa4 %g s", sum / (double)count,
                 p95);
}

static void channel_row(struct page *p, const char *ch)
{
    char v[6][32], latency[64];
    const char *row[8];
    long long figures[6] = {
        channel_value("nudge_channel_sent_total", ch, NULL),
        channel_value("nudge_channel_failed_total", ch, "class=\"transient\""),
        channel_value("nudge_channel_failed_total", ch, "class=\"permanent\""),
        channel_value("nudge_channel_unknown_total", ch, NULL),
        channel_value("nudge_channel_in_flight", ch, NULL),
        channel_value("nudge_channel_waiting", ch, NULL),
    };

    row[0] = ch;
    for (int i = 0; i < 6; i++) {
        snprintf(v[i], sizeof v[i], "%lld", figures[i]);
        row[i + 1] = v[i];
    }
    latency_text(latency, sizeof latency, ch);
    row[7] = latency;
    page_table_row(p, row, 8);
}

void supervisor_section_channels(struct page *p,
                                 const struct supervisor_page_src *src)
{
    static const char *const head[] = {
        "Channel",   "Sent",      "Failed (retried)", "Failed (permanent)",
        "No answer", "In flight", "Waiting",          "Latency mean / p95"};
    const struct config *cfg = src->cfg;
    struct page_bar *bars;

    page_section(p, "channels", "Channels");
    if (!src->live) {
        page_para(p, "note",
                  "Channel figures are only on the live page (nudged's "
                  "/report): nudged counts them in memory (its /metrics), "
                  "and this page was written without it.");
        return;
    }
    page_para(p, "note",
              "Since this nudged started (each daemon counts its own): "
              "messages the provider accepted, failures, requests that got "
              "no answer, and the time from handing a message over to its "
              "outcome.");
    if (cfg->nchannels == 0) {
        page_para(p, "note", "No channel is configured.");
        return;
    }
    if (!(bars = calloc(cfg->nchannels, sizeof *bars))) {
        page_para(p, "warn", "Out of memory.");
        return;
    }
    for (size_t i = 0; i < cfg->nchannels; i++) {
        bars[i].label = cfg->channels[i].name;
        bars[i].value = (double)channel_value("nudge_channel_sent_total",
                                              cfg->channels[i].name, NULL);
    }
    page_bar_chart(p, "Messages sent per channel", bars, cfg->nchannels, "");
    free(bars);
    page_table_begin(p, head, sizeof head / sizeof head[0]);
    for (size_t i = 0; i < cfg->nchannels; i++)
        channel_row(p, cfg->channels[i].name);
    page_table_end(p);
}
