/*
 * report_page.c - GET /report (see report_page.h): the token, then the
 * supervisors' page built from this daemon's Redis and metrics.
 */
#include "daemon/report_page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/redis.h"
#include "daemon/callback.h"
#include "rules/supervisor_page.h"
#include "templates/page.h"

struct report_page {
    const struct config *cfg;
    struct rconn *rc;
    struct metric *served, *unauthorized;
};

static struct metric *counter(const char *result)
{
    char labels[64];

    snprintf(labels, sizeof labels, "result=\"%s\"", result);
    return metric_counter("nudge_report_page_total",
                          "Requests for the supervisors' page (/report), by "
                          "what became of them.",
                          labels);
}

struct report_page *report_page_new(const struct config *cfg)
{
    struct report_page *rp;

    if (!cfg->http.report_token || !cfg->http.report_token[0])
        return NULL;
    if (!(rp = calloc(1, sizeof *rp)))
        return NULL;
    rp->cfg = cfg;
    if (!(rp->rc = rconn_new(cfg, NULL))) {
        free(rp);
        return NULL;
    }
    rp->served = counter("served");
    rp->unauthorized = counter("unauthorized");
    return rp;
}

void report_page_free(struct report_page *rp)
{
    if (!rp)
        return;
    rconn_free(rp->rc);
    free(rp);
}

/* The answer to a request without the right token: says what to send,
 * shows nothing else. */
static char *refusal(void)
{
    struct page p;

    page_begin(&p, "nudge: the supervisors' page", NULL);
    page_section(&p, "token", "This page needs its token");
    page_para(&p, NULL,
              "Open the address with ?token=… at its end, as given by "
              "whoever runs nudge, or send the header Authorization: "
              "Bearer ….");
    return page_end(&p);
}

int report_page_handle(struct report_page *rp, const char *authorization,
                       const char *token, char **page)
{
    struct supervisor_page_src src = {rp->cfg, rp->rc, clock_now_ms(), 1};

    if (!http_token_ok(rp->cfg->http.report_token, authorization, token)) {
        metric_inc(rp->unauthorized);
        log_warnx("report page: a request without the right token, refused");
        *page = refusal();
        return 401;
    }
    /* One attempt a request: while Redis is down the page says so at
     * once instead of waiting for it. */
    if (!rp->rc->c)
        rconn_connect(rp->rc);
    metric_inc(rp->served);
    *page = supervisor_page_build(&src);
    return 200;
}
