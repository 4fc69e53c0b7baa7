/*
 * wecom.c - the WeCom channel driver (see wecom.h): the life of a send.
 *
 *   submit --> go: needs a token (member, external) and none is usable?
 *                |  yes: wait in the token queue; the first waiter starts
 *                |  the one gettoken, whose answer sends every waiter on
 *                |  (or ends them all with its outcome)
 *                v
 *              a limiter slot (members by userid, robots by key): later?
 *                |  yes: held in `later` (delayq.c) until then, then go
 *                |  on (the token may have to be renewed by then)
 *                v
 *              POST with the token current now (httpc.c)
 *                |
 *              answer classed (wecom_api.c) --> done()
 *                |
 *                +- 40014/42001...: drop the token (unless a newer one is
 *                   there), go once more from the top, with a new slot
 *
 * The token goes into a request when the request starts, never before a
 * wait, so a send held back for a minute does not carry a token that
 * expired meanwhile.
 *
 * Threads: submit() runs on the channel's delivery queue, answers on
 * httpc's thread, due sends on the delay queue's: all take `mu` around
 * the token, its queue and the limiters, and never hold it while calling
 * httpc or done().
 */
#include "channels/wecom.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channels/delayq.h"
#include "channels/httpc.h"
#include "channels/ratelimit.h"
#include "channels/wecom_api.h"
#include "channels/wecom_conf.h"
#include "channels/wecom_token.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"

struct wecom {
    char *name;
    struct wecom_conf c;
    struct wecom_opts opts;
    struct httpc *http;
    struct metric *renewals;

    pthread_mutex_t mu;
    struct wecom_token token;
    struct wsend *waiting, **waiting_tail; /* sends waiting for a token */
    struct ratelimit *members, *robots;
    struct delayq *later; /* sends held for their slot; NULL when closing */
};

/* One message on its way. */
struct wsend {
    struct wecom *w;
    const struct chan_msg *msg;
    chan_done_fn done;
    void *arg;
    enum wecom_api api;
    char *body;            /* the request's JSON */
    const char *robot_key; /* WECOM_ROBOT: msg->to or the channel's */
    uint64_t token_gen;    /* the token generation it was sent with */
    int renewed;           /* already sent again after a token refusal */
    int slotted;           /* holds its limiter slot */
    struct wsend *next;    /* in the token queue */
};

/* --- ending a send -------------------------------------------------------- */

static void finish(struct wsend *s, const struct chan_result *res)
{
    s->done(s->arg, res);
    free(s->body);
    free(s);
}

static void fail(struct wsend *s, enum chan_status status, const char *code,
                 const char *why)
{
    struct chan_result res = {0};

    chan_result_fail(&res, status, code, "wecom: %s", why);
    finish(s, &res);
}

/* --- URLs ------------------------------------------------------------------
 */

/* s percent-encoded into a new string (the caller frees), or NULL. */
static char *url_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *p = out;

    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
            *p++ = (char)ch;
        } else {
            *p++ = '%';
            *p++ = hex[ch >> 4];
            *p++ = hex[ch & 15];
        }
    }
    *p = '\0';
    return out;
}

/* api_base + path + "?" + name "=" escaped value [+ "&" name2 "=" value2]:
 * a new string the caller frees, or NULL. */
static char *api_url(const struct wecom *w, const char *path, const char *name,
                     const char *value, const char *name2, const char *value2)
{
    char *v = url_escape(value), *v2 = value2 ? url_escape(value2) : NULL;
    char *url = NULL;

    if (v && (!value2 || v2) &&
        asprintf(&url, "%s/cgi-bin/%s?%s=%s%s%s%s%s", w->c.api_base, path, name,
                 v, name2 ? "&" : "", name2 ? name2 : "", name2 ? "=" : "",
                 v2 ? v2 : "") < 0)
        url = NULL;
    free(v);
    free(v2);
    return url;
}

static const char *api_path(enum wecom_api api)
{
    static const char *const paths[] = {
        [WECOM_MEMBER] = "message/send",
        [WECOM_EXTERNAL] = "externalcontact/add_msg_template",
        [WECOM_ROBOT] = "webhook/send",
    };
    return paths[api];
}

/* --- sending ---------------------------------------------------------------
 */

static void send_go(struct wsend *s);

static void on_answer(void *arg, const struct httpc_resp *r)
{
    struct wsend *s = arg;
    struct wecom *w = s->w;
    struct chan_result res = {0};
    enum wecom_verdict v = WECOM_DONE;

    if (httpc_classify(r, &res) == CHAN_OK) {
        memset(&res, 0, sizeof res);
        v = wecom_classify(s->api, r->body, s->msg->idempotency_key, &res);
    } else {
        wecom_scrub(res.error);
        /* No answer or a 5xx: WeCom's side, not the recipient's (but
         * a request ended by our own closing is nobody's fault). */
        res.account = r->status >= 500 ||
                      (r->status == 0 && strcmp(res.code, "closing") != 0);
    }
    if (v == WECOM_RENEW && !s->renewed) {
        s->renewed = 1;
        pthread_mutex_lock(&w->mu);
        wecom_token_invalidate(&w->token, s->token_gen);
        pthread_mutex_unlock(&w->mu);
        /* A new slot: the refused attempt may have counted at WeCom. */
        s->slotted = 0;
        send_go(s);
        return;
    }
    finish(s, &res);
}

/* Hands the request to httpc (it takes url). */
static void post(struct wsend *s, char *url)
{
    struct httpc_req *q = url ? httpc_req_new("POST", url) : NULL;

    free(url);
    if (!q || httpc_req_header(q, "Content-Type: application/json") < 0 ||
        httpc_req_body(q, s->body, strlen(s->body)) < 0) {
        httpc_req_free(q);
        fail(s, CHAN_TRANSIENT, "ENOMEM", "out of memory");
        return;
    }
    q->done = on_answer;
    q->arg = s;
    if (httpc_submit(s->w->http, q) < 0)
        fail(s, CHAN_TRANSIENT, "closing", "channel closing: not sent");
}

static void token_fetch(struct wecom *w);

/* Under mu: queues s for the next token; 1 when the caller must start
 * the gettoken (nobody has yet). */
static int wait_for_token(struct wecom *w, struct wsend *s)
{
    int start = !w->token.fetching;

    s->next = NULL;
    *w->waiting_tail = s;
    w->waiting_tail = &s->next;
    w->token.fetching = 1;
    return start;
}

/* Under mu: takes a limiter slot for s. Returns when it may go
 * (clock_mono_ms()), -1 on no memory. */
static int64_t take_slot(struct wecom *w, struct wsend *s, int64_t now)
{
    s->slotted = 1;
    switch (s->api) {
    case WECOM_MEMBER:
        return ratelimit_reserve(w->members, s->msg->to, now);
    case WECOM_ROBOT:
        return ratelimit_reserve(w->robots, s->robot_key, now);
    default:
        return now; /* WeCom states no limit per external contact */
    }
}

/* Moves s on: it waits for a token if it needs one and none is usable,
 * then for its limiter slot, then goes with the token current at that
 * moment. Called again at each step's end (token came, slot came). */
static void send_go(struct wsend *s)
{
    struct wecom *w = s->w;
    int64_t now = clock_mono_ms(), at = now;
    char *url = NULL;
    int start = 0, held = 0;

    pthread_mutex_lock(&w->mu);
    if (s->api != WECOM_ROBOT && !wecom_token_usable(&w->token, now)) {
        start = wait_for_token(w, s);
        pthread_mutex_unlock(&w->mu);
        if (start)
            token_fetch(w);
        return;
    }
    /* The slot is taken only now, once nothing else stands in the way,
     * so that it is the moment the request really leaves. */
    if (!s->slotted && (at = take_slot(w, s, now)) > now)
        held = w->later && delayq_add(w->later, at, s) == 0 ? 1 : -1;
    if (!held && at >= 0) {
        if (s->api == WECOM_ROBOT) {
            url = api_url(w, api_path(s->api), "key", s->robot_key, NULL, NULL);
        } else {
            s->token_gen = w->token.generation;
            url = api_url(w, api_path(s->api), "access_token", w->token.value,
                          NULL, NULL);
        }
    }
    pthread_mutex_unlock(&w->mu);
    if (at < 0 || held < 0)
        fail(s, CHAN_TRANSIENT, "closing",
             "channel closing (or out of memory): not sent");
    else if (!held)
        post(s, url);
}

static void on_due(void *arg, void *item)
{
    send_go(item);
}

/* --- the token -------------------------------------------------------------
 */

/* Under mu: takes the queue of sends waiting for a token. */
static struct wsend *take_waiting(struct wecom *w)
{
    struct wsend *list = w->waiting;

    w->waiting = NULL;
    w->waiting_tail = &w->waiting;
    w->token.fetching = 0;
    return list;
}

/* The token came (res NULL): every waiter goes on; or it did not: every
 * waiter ends with res. */
static void release_waiting(struct wecom *w, const char *token, long expires,
                            const struct chan_result *res)
{
    struct wsend *list, *next;
    int renewal = 0;

    pthread_mutex_lock(&w->mu);
    if (token) {
        renewal = w->token.generation > 0;
        wecom_token_store(&w->token, token, expires, clock_mono_ms());
    }
    list = take_waiting(w);
    pthread_mutex_unlock(&w->mu);
    if (renewal) {
        metric_inc(w->renewals);
        log_info("channel %s: WeCom access token renewed", w->name);
    }
    if (res)
        log_warnx("channel %s: %s", w->name, res->error);
    for (; list; list = next) {
        next = list->next;
        if (token)
            send_go(list);
        else
            finish(list, res);
    }
}

static void on_token(void *arg, const struct httpc_resp *r)
{
    struct wecom *w = arg;
    struct chan_result res = {0};
    char token[WECOM_TOKEN_MAX];
    long expires = 0;

    if (httpc_classify(r, &res) != CHAN_OK) {
        /* The sends themselves never left: they can go later. */
        char why[sizeof res.error];
        snprintf(why, sizeof why, "%s", wecom_scrub(res.error));
        snprintf(res.error, sizeof res.error, "wecom: no access token: %.200s",
                 why);
        res.status = CHAN_TRANSIENT;
        res.account = 1;
    } else if (memset(&res, 0, sizeof res),
               wecom_token_parse(r->body, token, sizeof token, &expires,
                                 &res) == 0) {
        release_waiting(w, token, expires, NULL);
        return;
    }
    release_waiting(w, NULL, 0, &res);
}

static void token_fetch(struct wecom *w)
{
    char *url = api_url(w, "gettoken", "corpid", w->c.corp_id, "corpsecret",
                        w->c.secret);
    struct httpc_req *q = url ? httpc_req_new("GET", url) : NULL;
    struct chan_result res = {0};

    free(url);
    if (q) {
        q->done = on_token;
        q->arg = w;
        if (httpc_submit(w->http, q) == 0)
            return;
        chan_result_fail(&res, CHAN_TRANSIENT, "closing",
                         "wecom: channel closing: not sent");
    } else {
        chan_result_fail(&res, CHAN_TRANSIENT, "ENOMEM",
                         "wecom: out of memory");
    }
    release_waiting(w, NULL, 0, &res);
}

/* --- the driver ------------------------------------------------------------
 */

/* A new send for msg, or NULL with res filled when it cannot go. */
static struct wsend *wsend_new(struct wecom *w, const struct chan_msg *msg,
                               chan_done_fn done, void *arg,
                               struct chan_result *res)
{
    struct wsend *s;
    enum wecom_api api;

    if (wecom_api_of(msg, &api, res) < 0)
        return NULL;
    if (api != WECOM_ROBOT && !w->c.corp_id) {
        chan_result_fail(res, CHAN_PERMANENT, "config",
                         "wecom: channel %s has no corp_id, agent_id and "
                         "secret: it sends to group robots only",
                         w->name);
        res->account = 1;
        return NULL;
    }
    if (!(s = calloc(1, sizeof *s))) {
        chan_result_fail(res, CHAN_TRANSIENT, "ENOMEM", "wecom: out of memory");
        return NULL;
    }
    *s = (struct wsend){
        .w = w, .msg = msg, .done = done, .arg = arg, .api = api};
    if (api == WECOM_ROBOT &&
        !(s->robot_key = msg->to && *msg->to ? msg->to : w->c.robot_key)) {
        chan_result_fail(res, CHAN_PERMANENT, "invalid",
                         "wecom: no robot key: give the message a `to` or "
                         "the channel a robot_key");
        free(s);
        return NULL;
    }
    if (!(s->body = wecom_request_json(api, msg, &w->opts, res))) {
        free(s);
        return NULL;
    }
    return s;
}

static void wecom_submit(void *self, const struct chan_msg *msg,
                         chan_done_fn done, void *arg)
{
    struct chan_result res = {0};
    struct wsend *s = wsend_new(self, msg, done, arg, &res);

    if (s)
        send_go(s);
    else
        done(arg, &res);
}

/* A send still held for its slot when the channel closes. */
static void drop_closing(void *arg, void *item)
{
    fail(item, CHAN_TRANSIENT, "closing", "channel closing: not sent");
}

static void wecom_free(struct wecom *w)
{
    delayq_free(w->later, drop_closing, w);
    ratelimit_free(w->members);
    ratelimit_free(w->robots);
    pthread_mutex_destroy(&w->mu);
    wecom_conf_free(&w->c);
    free(w->name);
    free(w);
}

/* A limiter for r; the window is stretched by a twentieth so that the
 * network's jitter cannot squeeze one send too many into WeCom's own
 * window. */
static struct ratelimit *limiter_for(const struct wecom_rate *r)
{
    return ratelimit_new(r->limit, r->window_ms, r->window_ms / 20);
}

static void *wecom_init(const struct chan_conf *cc, struct conf_section *sec,
                        const struct config *cfg, struct diag *d)
{
    struct wecom *w = calloc(1, sizeof *w);
    int errors = d->errors;
    char labels[200], err[256];

    if (!w)
        return NULL;
    pthread_mutex_init(&w->mu, NULL);
    w->waiting_tail = &w->waiting;
    wecom_conf_read(sec, cfg, &w->c, d);
    w->opts = (struct wecom_opts){w->c.agent_id, w->c.dup_interval_s};
    w->name = strdup(sec->name);
    w->members = limiter_for(&w->c.member_rate);
    w->robots = limiter_for(&w->c.robot_rate);
    w->later = delayq_new(on_due, w);
    if (d->errors != errors || !w->name || !w->c.api_base || !w->members ||
        !w->robots || !w->later) {
        wecom_free(w);
        return NULL;
    }
    if (!(w->http = httpc_new(cc, err, sizeof err))) {
        diag_error(d, sec->file, sec->line, 0, "[channel.%s]: %s", sec->name,
                   err);
        wecom_free(w);
        return NULL;
    }
    snprintf(labels, sizeof labels, "channel=\"%s\"", sec->name);
    w->renewals = metric_counter("nudge_channel_token_renewals_total",
                                 "Access tokens fetched again after the "
                                 "first: before expiry or when refused",
                                 labels);
    return w;
}

static void wecom_close(void *self)
{
    struct wecom *w = self;
    struct chan_result res = {0};
    struct wsend *list, *next;
    struct delayq *later;

    /* First the held sends (their thread may still hand one to httpc),
     * then what is in flight: a send that goes round again then finds
     * no delay queue, or httpc closing, and ends as transient. */
    pthread_mutex_lock(&w->mu);
    later = w->later;
    w->later = NULL;
    pthread_mutex_unlock(&w->mu);
    delayq_free(later, drop_closing, w);
    httpc_free(w->http);
    pthread_mutex_lock(&w->mu);
    list = take_waiting(w);
    pthread_mutex_unlock(&w->mu);
    chan_result_fail(&res, CHAN_TRANSIENT, "closing",
                     "wecom: channel closing: not sent");
    for (; list; list = next) {
        next = list->next;
        finish(list, &res);
    }
    wecom_free(w);
}

const struct chan_driver chan_wecom = {
    .abi_version = CHAN_ABI_VERSION,
    .type = "wecom",
    /* WeCom's duplicate check drops a repeated message/send itself. */
    .caps = CHAN_CAP_DEDUP,
    .init = wecom_init,
    .submit = wecom_submit,
    .close = wecom_close,
};
