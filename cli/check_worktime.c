/*
 * check_worktime.c - the working-time half of `nudgectl check` (see
 * check.h): what [worktime] amounts to, and warnings a site must act on
 * before deadlines go wrong: rules that wait in working time with no
 * holiday calendar, and a calendar that runs out within 60 days (after
 * its last date holidays are unknown and every weekday counts).
 */
#include <stdio.h>

#include "cli/check.h"
#include "core/clock.h"
#include "core/tz.h"
#include "core/worktime.h"

#define RUNOUT_WARN_DAYS 60

static void summarise(const struct worktime *w, FILE *report)
{
    char first[16] = "", last[16] = "";
    int64_t from = -1;

    for (size_t i = 0; i < w->ncovers; i++)
        if (from < 0 || w->covers[i].first < from)
            from = w->covers[i].first;
    fprintf(report, "worktime: %02d:%02d-%02d:%02d", w->from / 60, w->from % 60,
            w->to / 60, w->to % 60);
    if (w->lunch_from != w->lunch_to)
        fprintf(report, " less lunch %02d:%02d-%02d:%02d", w->lunch_from / 60,
                w->lunch_from % 60, w->lunch_to / 60, w->lunch_to % 60);
    fprintf(report, " in %s", w->zone);
    if (w->ncovers)
        fprintf(
            report, "; calendar %s to %s (%zu file%s, %zu dates)\n",
            worktime_format_day(from, first, sizeof first),
            worktime_format_day(worktime_covered_until(w), last, sizeof last),
            w->ncovers, w->ncovers == 1 ? "" : "s", w->ndates);
    else
        fprintf(report, "; no holiday calendar\n");
}

void check_worktime(struct ctl *ctl, int uses_working, struct diag *d,
                    FILE *report)
{
    const struct config *cfg = &ctl->cfg;
    const struct worktime *w = &cfg->worktime;
    int64_t last = worktime_covered_until(w), today;
    char day[16];

    summarise(w, report);
    if (!w->ncovers) {
        if (uses_working)
            diag_warning(d, cfg->path, 0, 0,
                         "rules wait in working time but [worktime] has no "
                         "calendar: holidays and make-up working days are "
                         "not known (e.g. calendar = calendars/cn-2026.cal)");
        return;
    }
    today = tz_to_local(w->zone, clock_now_ms()) / WT_DAY_MS;
    if (last - today >= RUNOUT_WARN_DAYS)
        return;
    worktime_format_day(last, day, sizeof day);
    if (last < today)
        diag_warning(d, cfg->path, cfg->work.calendar_line, 0,
                     "the working calendar ran out on %s: holidays after it "
                     "are not known; add next year's file to [worktime] "
                     "calendar (docs/leads.md)",
                     day);
    else
        diag_warning(d, cfg->path, cfg->work.calendar_line, 0,
                     "the working calendar runs out on %s, in %lld day%s: "
                     "add next year's file to [worktime] calendar "
                     "(docs/leads.md)",
                     day, (long long)(last - today),
                     last - today == 1 ? "" : "s");
}
