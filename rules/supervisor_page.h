/*
 * supervisor_page.h - the supervisors' page: one self-contained HTML page
 * (templates/page.h) of what a director of admissions checks on a phone:
 * the rules' report, the overdue leads, the queue's and the channels'
 * health, and the forecast. nudged serves it at GET /report
 * (daemon/report_page.h); `nudgectl page --html FILE` writes the same
 * page from the same function (and `nudgectl report --html` will).
 *
 * The page is a list of sections, each one function that writes itself
 * (supervisor_page.c's table); a section that cannot read its figures
 * says so in its place and the others still show. The report and the
 * forecast are placeholders that say where their figures are until
 * `nudgectl report` and `nudgectl forecast` plug their own section
 * functions in. Contacts are masked (core/mask.h) before they reach the
 * page; names and every other text are HTML-escaped by the page.
 *
 * Threads: any; it uses only the rconn it is given.
 */
#ifndef NUDGE_RULES_SUPERVISOR_PAGE_H
#define NUDGE_RULES_SUPERVISOR_PAGE_H

#include <stdint.h>

#include "core/config.h"
#include "core/redis.h"
#include "templates/page.h"

/* What the page is built from (all borrowed). */
struct supervisor_page_src {
    const struct config *cfg;
    struct rconn *rc; /* connected; NULL or broken: the sections that read
                         Redis say they could not */
    int64_t now_ms;
    int live; /* built inside nudged: this process's metrics registry holds
                 the channels' figures (core/metrics.h); nudgectl has none */
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

#endif
