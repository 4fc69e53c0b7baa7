/*
 * report_page.c - GET /report (see report_page.h): the token, then the
 * supervisors' page built from this daemon's Redis and metrics, with the
 * forecast its own thread keeps.
 */
#include "daemon/report_page.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/redis.h"
#include "daemon/callback.h"
#include "rules/supervisor_page.h"
#include "templates/page.h"

/* The forecast thread's state; everything below lock is under it. */
struct page_forecast {
    pthread_t thread;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop;
    struct forecast_read *fr; /* the latest result, or NULL */
    int64_t at_ms;
    char error[400]; /* the last attempt's failure, or "" */
};

struct report_page {
    const struct config *cfg;
    struct rconn *rc;
    struct metric *served, *unauthorized;
    struct page_forecast fc;
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

/* --- the forecast thread -------------------------------------------------- */

/* Stops a forecast under way when the daemon stops. */
static int should_stop(void *ctx, size_t done, size_t total)
{
    struct page_forecast *f = ctx;
    int stop;

    pthread_mutex_lock(&f->lock);
    stop = f->stop;
    pthread_mutex_unlock(&f->lock);
    return stop;
}

/* One forecast on rc, kept (or its failure noted). */
static void forecast_once(struct report_page *rp, struct rconn *rc)
{
    struct page_forecast *f = &rp->fc;
    struct forecast_progress stop = {should_stop, f};
    struct forecast_read *fr = calloc(1, sizeof *fr), *old = NULL;
    char err[400] = "out of memory";
    int64_t now = clock_now_ms();
    int ok;

    if (fr && !rc->c)
        rconn_connect(rc);
    ok = fr && supervisor_forecast_compute(fr, rp->cfg, rc, now, &stop, err,
                                           sizeof err) == 0;
    pthread_mutex_lock(&f->lock);
    if (ok) {
        old = f->fr;
        f->fr = fr;
        f->at_ms = now;
        f->error[0] = '\0';
    } else if (!f->stop) {
        snprintf(f->error, sizeof f->error, "%s", err);
    }
    pthread_mutex_unlock(&f->lock);
    if (!ok && !f->stop)
        log_warnx("report page: the forecast: %s", err);
    if (!ok)
        old = fr;
    if (old) {
        forecast_read_free(old);
        free(old);
    }
}

static void *forecast_loop(void *arg)
{
    struct report_page *rp = arg;
    struct page_forecast *f = &rp->fc;
    struct rconn *rc = rconn_new(rp->cfg, NULL);
    int64_t every = rp->cfg->http.report_forecast_every_ms;

    pthread_mutex_lock(&f->lock);
    while (!f->stop) {
        struct timespec until;
        pthread_mutex_unlock(&f->lock);
        if (rc)
            forecast_once(rp, rc);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(every / 1000);
        until.tv_nsec += (long)(every % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_mutex_lock(&f->lock);
        while (!f->stop &&
               pthread_cond_timedwait(&f->wake, &f->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&f->lock);
    rconn_free(rc);
    return NULL;
}

static int forecast_start(struct report_page *rp)
{
    struct page_forecast *f = &rp->fc;

    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->wake, NULL);
    if (rp->cfg->http.report_forecast_every_ms <= 0)
        return 0;
    if (pthread_create(&f->thread, NULL, forecast_loop, rp) != 0)
        return -1;
    f->started = 1;
    return 0;
}

static void forecast_stop(struct page_forecast *f)
{
    if (f->started) {
        pthread_mutex_lock(&f->lock);
        f->stop = 1;
        pthread_cond_signal(&f->wake);
        pthread_mutex_unlock(&f->lock);
        pthread_join(f->thread, NULL);
    }
    if (f->fr) {
        forecast_read_free(f->fr);
        free(f->fr);
    }
    pthread_cond_destroy(&f->wake);
    pthread_mutex_destroy(&f->lock);
}

/* --- the handler ---------------------------------------------------------- */

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
    if (forecast_start(rp) < 0) {
        forecast_stop(&rp->fc);
        rconn_free(rp->rc);
        free(rp);
        return NULL;
    }
    return rp;
}

void report_page_free(struct report_page *rp)
{
    if (!rp)
        return;
    forecast_stop(&rp->fc);
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

/* The page, with the thread's latest forecast held under its lock while
 * the page is built (the thread only takes the lock to swap results). */
static char *build(struct report_page *rp)
{
    struct page_forecast *f = &rp->fc;
    struct supervisor_forecast sf = {.state = SUPERVISOR_FORECAST_OFF};
    struct supervisor_page_src src = {rp->cfg, rp->rc, clock_now_ms(), 1, &sf};
    char *html;

    pthread_mutex_lock(&f->lock);
    if (f->started) {
        sf.state =
            f->fr ? SUPERVISOR_FORECAST_READY : SUPERVISOR_FORECAST_PENDING;
        sf.fr = f->fr;
        sf.at_ms = f->at_ms;
        sf.every_ms = rp->cfg->http.report_forecast_every_ms;
        sf.error = f->error[0] ? f->error : NULL;
    }
    html = supervisor_page_build(&src);
    pthread_mutex_unlock(&f->lock);
    return html;
}

int report_page_handle(struct report_page *rp, const char *authorization,
                       const char *token, char **page)
{
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
    *page = build(rp);
    return 200;
}
