/*
 * wecom.c - the WeCom channel driver (see wecom.h): its config, and the
 * life of a send on httpc's thread:
 *
 *   submit --> needs a token? --no (robot)--------------------+
 *                 | yes                                       v
 *            token usable? --yes--> reserve a limiter slot --> POST
 *                 | no                (member, robot)          |
 *            wait in the token queue; the first                |
 *            waiter starts the one gettoken                    v
 *                 |                                  answer classed
 *            gettoken answer: every waiter goes on   (wecom_api.c)
 *            (or fails with gettoken's outcome)         |
 *                                                       | 40014/42001..:
 *            done() <-----------------------------------+ drop the token
 *                                                         and go round
 *                                                         once more
 *
 * submit() runs on the channel's delivery queue, the callbacks on
 * httpc's thread: both take `mu` around the token, its queue and the
 * limiters, and never hold it while calling httpc or done().
 */
#include "channels/wecom.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channels/httpc.h"
#include "channels/ratelimit.h"
#include "channels/wecom_api.h"
#include "channels/wecom_token.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/log.h"
#include "core/metrics.h"

#define DEFAULT_API_BASE "https://qyapi.weixin.qq.com"

/* A limit: at most `limit` sends per `window_ms` to one key. */
struct wecom_rate {
    int limit;
    int64_t window_ms;
};

struct wecom_conf {
    char *api_base, *corp_id, *secret, *robot_key;
    long agent_id;
    long dup_interval_s;
    struct wecom_rate member_rate, robot_rate;
};

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
    struct wsend *next;    /* in the token queue */
};

/* --- config --------------------------------------------------------------- */

/* One row per key: its setter and where its value goes (STYLE.md). */
struct conf_row {
    const char *key;
    int (*set)(const struct conf_row *row, const char *v,
               const struct config *cfg, void *field, char *err, size_t n);
    size_t offset;
    int provider_limit; /* rates: WeCom's own per minute, for a warning */
};

static int set_string(const struct conf_row *row, const char *v,
                      const struct config *cfg, void *field, char *err,
                      size_t n)
{
    return (*(char **)field = strdup(v)) ? 0 : -1;
}

static int set_secret(const struct conf_row *row, const char *v,
                      const struct config *cfg, void *field, char *err,
                      size_t n)
{
    return (*(char **)field = config_secret(cfg, v, err, n)) ? 0 : -1;
}

static int set_api_base(const struct conf_row *row, const char *v,
                        const struct config *cfg, void *field, char *err,
                        size_t n)
{
    size_t len = strlen(v);

    if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) {
        snprintf(err, n, "\"%s\" is not an http:// or https:// URL", v);
        return -1;
    }
    while (len > 0 && v[len - 1] == '/') /* "base/" + "/cgi-bin" */
        len--;
    return (*(char **)field = strndup(v, len)) ? 0 : -1;
}

static int set_agent_id(const struct conf_row *row, const char *v,
                        const struct config *cfg, void *field, char *err,
                        size_t n)
{
    char *end;
    long id = strtol(v, &end, 10);

    if (end == v || *end || id < 1) {
        snprintf(err, n, "\"%s\" is not an app's AgentId (a number, "
                         "e.g. 1000002)", v);
        return -1;
    }
    *(long *)field = id;
    return 0;
}

/* A duration ("30m") or plain seconds ("1800"), up to WeCom's 4 hours. */
static int set_interval(const struct conf_row *row, const char *v,
                        const struct config *cfg, void *field, char *err,
                        size_t n)
{
    char *end;
    int64_t ms;
    long s = strtol(v, &end, 10);

    if (end != v && !*end)
        ms = (int64_t)s * 1000;
    else if (duration_parse(v, &ms) < 0)
        ms = -1;
    if (ms < 1000 || ms > 14400 * 1000) {
        snprintf(err, n, "\"%s\": use 1s to 4h (14400 s), e.g. 30m", v);
        return -1;
    }
    *(long *)field = (long)(ms / 1000);
    return 0;
}

static int set_rate(const struct conf_row *row, const char *v,
                    const struct config *cfg, void *field, char *err,
                    size_t n)
{
    struct wecom_rate *r = field;

    if (ratelimit_parse(v, &r->limit, &r->window_ms) < 0) {
        snprintf(err, n, "\"%s\" is not a limit: write 30/m, or N over a "
                         "duration (10/2s)", v);
        return -1;
    }
    return 0;
}

#define AT(f) offsetof(struct wecom_conf, f)

static const struct conf_row conf_rows[] = {
    {"api_base", set_api_base, AT(api_base), 0},
    {"corp_id", set_string, AT(corp_id), 0},
    {"agent_id", set_agent_id, AT(agent_id), 0},
    {"secret", set_secret, AT(secret), 0},
    {"robot_key", set_secret, AT(robot_key), 0},
    {"duplicate_check_interval", set_interval, AT(dup_interval_s), 0},
    {"member_rate", set_rate, AT(member_rate), 30},
    {"robot_rate", set_rate, AT(robot_rate), 20},
};

/* A limit above WeCom's lets messages through that WeCom then drops. */
static void warn_over_provider(const struct conf_row *row,
                               const struct wecom_conf *c,
                               struct conf_section *sec, struct diag *d)
{
    const struct wecom_rate *r =
        (const void *)((const char *)c + row->offset);

    if (row->provider_limit &&
        (double)r->limit * 60000 > (double)row->provider_limit * r->window_ms)
        diag_warning(d, sec->file, conf_section_line(sec, row->key), 0,
                     "%s: %d per %lld ms is over WeCom's %d a minute: WeCom "
                     "drops the rest without a word",
                     row->key, r->limit, (long long)r->window_ms,
                     row->provider_limit);
}

static void read_conf(struct conf_section *sec, const struct config *cfg,
                      struct wecom_conf *c, struct diag *d)
{
    char err[200];

    c->dup_interval_s = 1800;
    c->member_rate = (struct wecom_rate){30, 60000};
    c->robot_rate = (struct wecom_rate){20, 60000};
    for (size_t i = 0; i < sizeof conf_rows / sizeof conf_rows[0]; i++) {
        const struct conf_row *row = &conf_rows[i];
        const char *v = conf_section_get(sec, row->key);
        if (!v)
            continue;
        err[0] = '\0';
        if (row->set(row, v, cfg, (char *)c + row->offset, err, sizeof err) <
            0)
            diag_error(d, sec->file, conf_section_line(sec, row->key), 0,
                       "%s: %s", row->key, err[0] ? err : "out of memory");
        else
            warn_over_provider(row, c, sec, d);
    }
    if (!c->api_base)
        c->api_base = strdup(DEFAULT_API_BASE);
    /* An app needs all three; a channel of group robots needs none. */
    int given = !!c->corp_id + !!c->secret + !!c->agent_id;
    if (given != 0 && given != 3)
        diag_error(d, sec->file, sec->line, 0,
                   "[channel.%s]: corp_id, agent_id and secret go together "
                   "(or none of them, for a channel of group robots only)",
                   sec->name);
}

static void free_conf(struct wecom_conf *c)
{
    free(c->api_base);
    free(c->corp_id);
    free(c->secret);
    free(c->robot_key);
}

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

/* --- URLs ------------------------------------------------------------------ */

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
static char *api_url(const struct wecom *w, const char *path,
                     const char *name, const char *value, const char *name2,
                     const char *value2)
{
    char *v = url_escape(value), *v2 = value2 ? url_escape(value2) : NULL;
    char *url = NULL;

    if (v && (!value2 || v2) &&
        asprintf(&url, "%s/cgi-bin/%s?%s=%s%s%s%s%s", w->c.api_base, path,
                 name, v, name2 ? "&" : "", name2 ? name2 : "",
                 name2 ? "=" : "", v2 ? v2 : "") < 0)
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

/* --- sending --------------------------------------------------------------- */

static void send_start(struct wsend *s);

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
        /* No answer or a 5xx: WeCom's side, not the recipient's. */
        res.account = r->status == 0 || r->status >= 500;
    }
    if (v == WECOM_RENEW && !s->renewed) {
        s->renewed = 1;
        pthread_mutex_lock(&w->mu);
        wecom_token_invalidate(&w->token, s->token_gen);
        pthread_mutex_unlock(&w->mu);
        send_start(s);
        return;
    }
    finish(s, &res);
}

/* Hands the request to httpc; not_before_ms is the limiter's answer. */
static void post(struct wsend *s, char *url, int64_t not_before_ms)
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
    q->not_before_ms = not_before_ms;
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

/* Sends s now, or as soon as the limiter and the token allow. */
static void send_start(struct wsend *s)
{
    struct wecom *w = s->w;
    int64_t now = clock_mono_ms(), at = now;
    char *url;

    pthread_mutex_lock(&w->mu);
    if (s->api == WECOM_ROBOT) {
        url = api_url(w, api_path(s->api), "key", s->robot_key, NULL, NULL);
        at = ratelimit_reserve(w->robots, s->robot_key, now);
    } else if (!wecom_token_usable(&w->token, now)) {
        int start = wait_for_token(w, s);
        pthread_mutex_unlock(&w->mu);
        if (start)
            token_fetch(w);
        return;
    } else {
        s->token_gen = w->token.generation;
        url = api_url(w, api_path(s->api), "access_token", w->token.value,
                      NULL, NULL);
        if (s->api == WECOM_MEMBER)
            at = ratelimit_reserve(w->members, s->msg->to, now);
    }
    pthread_mutex_unlock(&w->mu);
    if (at < 0) {
        free(url);
        fail(s, CHAN_TRANSIENT, "ENOMEM", "out of memory");
        return;
    }
    post(s, url, at > now ? at : 0);
}

/* --- the token ------------------------------------------------------------- */

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
            send_start(list);
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
        wecom_scrub(res.error);
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

/* --- the driver ------------------------------------------------------------ */

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
    *s = (struct wsend){.w = w, .msg = msg, .done = done, .arg = arg,
                        .api = api};
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
        send_start(s);
    else
        done(arg, &res);
}

static void wecom_free(struct wecom *w)
{
    ratelimit_free(w->members);
    ratelimit_free(w->robots);
    pthread_mutex_destroy(&w->mu);
    free_conf(&w->c);
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
    read_conf(sec, cfg, &w->c, d);
    w->opts = (struct wecom_opts){w->c.agent_id, w->c.dup_interval_s};
    w->name = strdup(sec->name);
    w->members = limiter_for(&w->c.member_rate);
    w->robots = limiter_for(&w->c.robot_rate);
    if (d->errors != errors || !w->name || !w->c.api_base || !w->members ||
        !w->robots) {
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

    /* Ends what is in flight; sends that go round again then find httpc
     * closing and end as transient. */
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
