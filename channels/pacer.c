/*
 * pacer.c - a channel's delivery queue (see pacer.h): a FIFO of copied
 * messages, a token bucket for the rate, and a thread that moves messages
 * from the FIFO to the driver whenever a slot and a token are free.
 */
#include "channels/pacer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"

/* One queued message: the copy and where its outcome goes. */
struct pmsg {
    struct chan_msg m;
    chan_done_fn done;
    void *arg;
    struct pacer *p;
    int64_t handed_ms; /* clock_mono_ms() when given to the driver */
    struct pmsg *next;
    char data[]; /* the strings of m */
};

struct channel_metrics {
    struct metric *sent, *transient, *permanent, *unknown;
    struct metric *in_flight, *waiting, *latency;
};

struct pacer {
    struct channel *ch;
    int max_in_flight;
    double rate;   /* tokens per second; <= 0: none */
    double burst;  /* the bucket's size */
    double tokens;
    int64_t refilled_us;

    pthread_mutex_t mu;
    pthread_cond_t cv;      /* work for the thread */
    pthread_cond_t idle_cv; /* in_flight went down (pacer_stop waits) */
    struct pmsg *head, *tail;
    int waiting, in_flight;
    int stopping;
    pthread_t tid;
    struct channel_metrics met;
};

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* --- copying a message ---------------------------------------------------- */

static const char **msg_field(struct chan_msg *m, int i)
{
    const char **f[] = {&m->type,     &m->student,       &m->channel,
                        &m->to,       &m->to_kind,       &m->sender,
                        &m->subject,  &m->body,          &m->html,
                        &m->mime,     &m->format,        &m->provider_template,
                        &m->provider_params, &m->rule,   &m->template_name,
                        &m->idempotency_key};
    return i < (int)(sizeof f / sizeof f[0]) ? f[i] : NULL;
}

/* One allocation holding the message and all its strings. */
static struct pmsg *pmsg_copy(const struct chan_msg *msg)
{
    struct chan_msg m = *msg;
    const char **f;
    size_t size = 0, off = 0;
    struct pmsg *pm;
    int i;

    for (i = 0; (f = msg_field(&m, i)); i++)
        if (*f)
            size += strlen(*f) + 1;
    if (!(pm = calloc(1, sizeof *pm + size)))
        return NULL;
    pm->m = m;
    for (i = 0; (f = msg_field(&pm->m, i)); i++) {
        if (!*f)
            continue;
        size_t len = strlen(*f) + 1;
        memcpy(pm->data + off, *f, len);
        *f = pm->data + off;
        off += len;
    }
    return pm;
}

/* --- metrics -------------------------------------------------------------- */

static void metrics_init(struct channel_metrics *mt, const char *name)
{
    static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                     0.5,   1,    2.5,   5,    10,  30};
    char l[200], lc[240];

    snprintf(l, sizeof l, "channel=\"%s\"", name);
    mt->sent = metric_counter("nudge_channel_sent_total",
                              "Messages the provider accepted", l);
    snprintf(lc, sizeof lc, "%s,class=\"transient\"", l);
    mt->transient = metric_counter("nudge_channel_failed_total",
                                   "Messages that failed, by class", lc);
    snprintf(lc, sizeof lc, "%s,class=\"permanent\"", l);
    mt->permanent = metric_counter("nudge_channel_failed_total",
                                   "Messages that failed, by class", lc);
    mt->unknown = metric_counter("nudge_channel_unknown_total",
                                 "Requests that left with no answer: the "
                                 "provider may or may not have them",
                                 l);
    mt->in_flight = metric_gauge("nudge_channel_in_flight",
                                 "Messages handed to the driver, not done", l);
    mt->waiting = metric_gauge("nudge_channel_waiting",
                               "Messages waiting for a slot or the rate", l);
    mt->latency = metric_histogram(
        "nudge_channel_latency_seconds",
        "From handing a message to the driver to its outcome", l, buckets,
        sizeof buckets / sizeof buckets[0]);
}

static void count_outcome(struct channel_metrics *mt,
                          const struct chan_result *res, double seconds)
{
    struct metric *by[] = {[CHAN_OK] = mt->sent,
                           [CHAN_TRANSIENT] = mt->transient,
                           [CHAN_PERMANENT] = mt->permanent,
                           [CHAN_UNKNOWN] = mt->unknown};

    if ((unsigned)res->status < sizeof by / sizeof by[0])
        metric_inc(by[res->status]);
    metric_observe(mt->latency, seconds);
}

/* --- the thread ----------------------------------------------------------- */

/* The driver's report: count it, pass it on, free the copy. */
static void pacer_done(void *arg, const struct chan_result *res)
{
    struct pmsg *pm = arg;
    struct pacer *p = pm->p;

    count_outcome(&p->met, res, (clock_mono_ms() - pm->handed_ms) / 1000.0);
    pm->done(pm->arg, res);
    pthread_mutex_lock(&p->mu);
    p->in_flight--;
    metric_set(p->met.in_flight, p->in_flight);
    pthread_cond_signal(&p->cv);
    pthread_cond_broadcast(&p->idle_cv);
    pthread_mutex_unlock(&p->mu);
    free(pm);
}

/* Under mu: tops the bucket up. Returns 0 when a token is there, else
 * the microseconds until one is. */
static int64_t take_token(struct pacer *p)
{
    int64_t now = mono_us();

    if (p->rate <= 0)
        return 0;
    p->tokens += (now - p->refilled_us) * p->rate / 1e6;
    p->refilled_us = now;
    if (p->tokens > p->burst)
        p->tokens = p->burst;
    if (p->tokens >= 1) {
        p->tokens -= 1;
        return 0;
    }
    return (int64_t)((1 - p->tokens) * 1e6 / p->rate) + 1;
}

static struct timespec mono_after_us(int64_t us)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += us / 1000000;
    ts.tv_nsec += (us % 1000000) * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void *pacer_main(void *arg)
{
    struct pacer *p = arg;
    int64_t wait_us = 0;

    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        wait_us = 0;
        while (p->head && p->in_flight < p->max_in_flight && !p->stopping &&
               (wait_us = take_token(p)) == 0) {
            struct pmsg *pm = p->head;
            if (!(p->head = pm->next))
                p->tail = NULL;
            p->waiting--;
            p->in_flight++;
            metric_set(p->met.waiting, p->waiting);
            metric_set(p->met.in_flight, p->in_flight);
            pthread_mutex_unlock(&p->mu);
            pm->handed_ms = clock_mono_ms();
            p->ch->drv->submit(p->ch->self, &pm->m, pacer_done, pm);
            pthread_mutex_lock(&p->mu);
        }
        if (p->stopping)
            break;
        if (wait_us > 0) {
            struct timespec until = mono_after_us(wait_us);
            pthread_cond_timedwait(&p->cv, &p->mu, &until);
        } else {
            pthread_cond_wait(&p->cv, &p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* --- the interface -------------------------------------------------------- */

struct pacer *pacer_new(struct channel *ch, int max_in_flight,
                        double rate_per_s)
{
    struct pacer *p = calloc(1, sizeof *p);
    pthread_condattr_t ca;

    if (!p)
        return NULL;
    p->ch = ch;
    p->max_in_flight = max_in_flight > 0 ? max_in_flight : 1;
    p->rate = rate_per_s;
    p->burst = rate_per_s * 0.05 > 1 ? rate_per_s * 0.05 : 1;
    p->tokens = p->burst;
    p->refilled_us = mono_us();
    metrics_init(&p->met, ch->name);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_cond_init(&p->idle_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&p->tid, NULL, pacer_main, p) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_cond_destroy(&p->idle_cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    return p;
}

int pacer_submit(struct pacer *p, const struct chan_msg *msg,
                 chan_done_fn done, void *arg)
{
    struct pmsg *pm = pmsg_copy(msg);

    if (!pm)
        return -1;
    pm->done = done;
    pm->arg = arg;
    pm->p = p;
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        free(pm);
        return -1;
    }
    if (p->tail)
        p->tail->next = pm;
    else
        p->head = pm;
    p->tail = pm;
    p->waiting++;
    metric_set(p->met.waiting, p->waiting);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void pacer_load(const struct pacer *p, int *in_flight, int *waiting)
{
    pthread_mutex_lock((pthread_mutex_t *)&p->mu);
    *in_flight = p->in_flight;
    *waiting = p->waiting;
    pthread_mutex_unlock((pthread_mutex_t *)&p->mu);
}

void pacer_stop(struct pacer *p)
{
    struct chan_result res;
    struct pmsg *left;

    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        return;
    }
    p->stopping = 1;
    left = p->head;
    p->head = p->tail = NULL;
    p->waiting = 0;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->tid, NULL);
    chan_result_fail(&res, CHAN_TRANSIENT, "closing",
                     "channel %s is closing: not sent", p->ch->name);
    while (left) {
        struct pmsg *next = left->next;
        left->done(left->arg, &res);
        free(left);
        left = next;
    }
    metric_set(p->met.waiting, 0);
}

void pacer_free(struct pacer *p)
{
    if (!p)
        return;
    pacer_stop(p);
    pthread_mutex_lock(&p->mu);
    if (p->in_flight > 0)
        log_warnx("channel %s: %d messages still in flight at close",
                  p->ch->name, p->in_flight);
    pthread_mutex_unlock(&p->mu);
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->idle_cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int pacer_rate_parse(const char *s, double *per_s)
{
    static const struct {
        const char *unit;
        double seconds;
    } units[] = {{"s", 1}, {"m", 60}, {"h", 3600}};
    char *end;
    double n;

    errno = 0;
    n = strtod(s, &end);
    if (errno || end == s || n <= 0 || *end != '/')
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end + 1, units[i].unit) == 0) {
            *per_s = n / units[i].seconds;
            return 0;
        }
    return -1;
}
