/*
 * report_page.h - GET /report: the supervisors' page
 * (rules/supervisor_page.h) on nudged's HTTP listener.
 *
 * Off unless [http] report_token is set: without it http.c answers 404
 * with a line saying how to turn it on. With it, every request must carry
 * the token, as "Authorization: Bearer TOKEN" or as ?token=TOKEN (for a
 * phone's bookmark: a query string lands in the browser's history and in
 * a proxy's access log, which nudged's own log never holds), compared in
 * constant time (daemon/callback.h); else 401 and a page without data.
 * Counted in nudge_report_page_total{result="served"|"unauthorized"}.
 *
 * http.c calls it on the listener's one thread, so one Redis connection
 * serves it; while Redis is down the page still answers, its sections
 * saying they could not read it.
 *
 * The forecast reads every student (seconds at 100,000), so no request
 * computes it: a thread of this module does, on its own Redis
 * connection, at start and then every [http] report_forecast_every
 * (0: never, and the section says it is off), and keeps the latest
 * result with its time; a request shows it under the lock that swaps
 * it. Before the first result the section says it is being computed.
 */
#ifndef NUDGE_REPORT_PAGE_H
#define NUDGE_REPORT_PAGE_H

#include "core/config.h"

struct report_page;

/* The handler for cfg (borrowed; must outlive it), or NULL when the page
 * is off (no report_token) or out of memory; its forecast thread is
 * started. Free with report_page_free(), which stops the thread (a
 * forecast under way stops at its next 500 students). */
struct report_page *report_page_new(const struct config *cfg);
void report_page_free(struct report_page *rp);

/* Answers one request: the Authorization header and the ?token= value
 * (either may be NULL). Returns the HTTP status (200, or 401); *page is
 * the HTML to send, which the caller frees (NULL when out of memory). */
int report_page_handle(struct report_page *rp, const char *authorization,
                       const char *token, char **page);

#endif
