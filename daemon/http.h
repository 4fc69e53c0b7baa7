/*
 * http.h - nudged's HTTP listener (libmicrohttpd, loopback by default):
 * GET /healthz answers 200 "ok" when the health callback says so, 503 with
 * the reason otherwise; GET /metrics answers every metric in the
 * Prometheus text format (core/metrics.h); /unsubscribe serves the
 * one-click unsubscribe links (daemon/unsubscribe.h): GET shows a
 * confirmation page, POST records the opt-out; POST /receipts/sms takes
 * SMS gateways' delivery reports (daemon/receipts.h); POST /replies/sms
 * takes students' SMS replies (daemon/replies.h); GET /report serves the
 * supervisors' page (daemon/report_page.h). All requests are
 * served on one thread of the listener's own.
 */
#ifndef NUDGE_HTTP_H
#define NUDGE_HTTP_H

#include <stddef.h>

#include "daemon/receipts.h"
#include "daemon/replies.h"
#include "daemon/report_page.h"
#include "daemon/unsubscribe.h"

/* Fills why (for a 503) and returns non-zero when healthy. */
typedef int (*http_health_fn)(void *ctx, char *why, size_t n);

struct http;

/* Listens on "host:port" in its own thread. unsub, receipts, replies and
 * report (borrowed; NULL: no /unsubscribe, /receipts/sms, /replies/sms,
 * /report) must outlive it.
 * Returns NULL with err filled when it cannot. The caller stops it with
 * http_stop(). */
struct http *http_start(const char *listen, http_health_fn health, void *ctx,
                        struct unsub *unsub, struct receipts *receipts,
                        struct replies *replies, struct report_page *report,
                        char *err, size_t errlen);
void http_stop(struct http *h);

#endif
