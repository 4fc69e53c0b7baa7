/*
 * supervisor_page.h - the supervisors' page: one self-contained HTML page
 * (templates/page.h) of what a director of admissions checks on a phone:
 * the rules' report, the overdue leads, the queue's and the channels'
 * health, and the forecast. nudged serves it at GET /report
 * (daemon/report_page.h); `nudgectl page --html FILE` writes the same
 * page from the same function (as does `nudgectl report --html`).
 *
 * The page is a list of sections, each one function that writes itself
 * (supervisor_page.c's table); a section that cannot read its figures
 * says so in its place and the others still show. The report and the
 * forecast (supervisor_insight.c) draw what `nudgectl report` and
 * `nudgectl forecast` print, read by the same functions
 * (rules/report_read.h, rules/forecast_read.h). The forecast reads every
 * student, so the page does not compute it: it is handed in
 * (supervisor_forecast), computed by nudged in the background or by
 * nudgectl once. Contacts are masked (core/mask.h) before they reach the
 * page; names and every other text are HTML-escaped by the page.
 *
 * Threads: any; it uses only the rconn it is given.
 */
#ifndef NUDGE_RULES_SUPERVISOR_PAGE_H
#define NUDGE_RULES_SUPERVISOR_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/redis.h"
#include "rules/forecast_read.h"
#include "templates/page.h"

/* The forecast the page shows, as far as it is computed (borrowed). */
struct supervisor_forecast {
    enum {
        SUPERVISOR_FORECAST_OFF,     /* [http] report_forecast_every = 0 */
        SUPERVISOR_FORECAST_PENDING, /* the first is being computed */
        SUPERVISOR_FORECAST_READY,   /* fr holds it, computed at at_ms */
    } state;
    const struct forecast_read *fr; /* READY */
    int64_t at_ms;                  /* READY: when it was computed */
    int64_t every_ms;               /* > 0: computed this often (nudged) */
    const char *error;              /* NULL, or why the last attempt
                                       failed (shown with the last good
                                       one, or alone) */
};

/* What the page is built from (all borrowed). */
struct supervisor_page_src {
    const struct config *cfg;
    struct rconn *rc; /* connected; NULL or broken: the sections that read
                         Redis say they could not */
    int64_t now_ms;
    int live; /* built inside nudged: this process's metrics registry holds
                 the channels' figures (core/metrics.h); nudgectl has none */
    const struct supervisor_forecast *forecast; /* NULL: off */
};

/* One section of the page: writes its heading and content into p. */
typedef void (*supervisor_section_fn)(struct page *p,
                                      const struct supervisor_page_src *src);

/* The overdue leads shown in the table at most (the chart counts all). */
#define SUPERVISOR_PAGE_MAX_LEADS 200

/* The whole page (NUL-terminated; the caller frees), or NULL when out of
 * memory. */
char *supervisor_page_build(const struct supervisor_page_src *src);

struct lead_list;

/* The overdue section's content for leads already read and sorted
 * (rules/leads_list.h): figures, the chart of overdue hours per owner,
 * the table. Pure: for tests. */
void supervisor_overdue_write(struct page *p, const struct lead_list *l,
                              int64_t now);

/* The sections, for tests and for whoever adds one. */
void supervisor_section_overdue(struct page *p,
                                const struct supervisor_page_src *src);
void supervisor_section_queue(struct page *p,
                              const struct supervisor_page_src *src);
void supervisor_section_channels(struct page *p,
                                 const struct supervisor_page_src *src);
void supervisor_section_report(struct page *p,
                               const struct supervisor_page_src *src);
void supervisor_section_forecast(struct page *p,
                                 const struct supervisor_page_src *src);

/* For the sections: a section that needs Redis and has none says so
 * (1: it cannot go on); ms as local time in [delivery] timezone,
 * strftime's fmt. */
int supervisor_no_redis(struct page *p, const struct supervisor_page_src *src);
void supervisor_local_time(char *buf, size_t n, const struct config *cfg,
                           int64_t ms, const char *fmt);

/* The forecast the page shows (7 days, every rule), into fr (zeroed
 * here; the caller frees it with forecast_read_free(), also on failure):
 * the rules loaded, then Redis read through rc. progress may be NULL (or
 * stop it: nudged's thread at shutdown). 0, or -1 with a line for the
 * page in err. */
int supervisor_forecast_compute(struct forecast_read *fr,
                                const struct config *cfg, struct rconn *rc,
                                int64_t now_ms,
                                const struct forecast_progress *progress,
                                char *err, size_t errlen);

#endif
