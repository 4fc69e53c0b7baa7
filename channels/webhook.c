/*
 * webhook.c - the signed JSON POST channel (see webhook.h). submit() builds
 * the JSON object and its signature on the delivery queue's thread and
 * hands the request to the channel's HTTP client; the client's thread
 * classes the answer and calls done().
 */
#include "channels/webhook.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "channels/httpc.h"
#include "core/clock.h"
#include "core/log.h"

struct webhook {
    struct httpc *http;
    char *url;
    char *secret;      /* never logged */
    unsigned long seq; /* keys for messages that come without one */
};

/* One message on its way: what its answer needs. */
struct call {
    chan_done_fn done;
    void *arg;
    char key[128];
};

/* --- init -------------------------------------------------------------- */

/* The host part of an http(s) URL starts after "://" and is not empty. */
static int url_ok(const char *url, int *tls)
{
    const char *host;

    if (strncasecmp(url, "https://", 8) == 0)
        *tls = 1, host = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        *tls = 0, host = url + 7;
    else
        return 0;
    return *host && *host != '/' && *host != ':' && !strpbrk(url, " \t\r\n");
}

static int is_loopback(const char *url)
{
    const char *host = strstr(url, "://") + 3;

    return strncmp(host, "127.", 4) == 0 ||
           strncasecmp(host, "localhost", 9) == 0 ||
           strncmp(host, "[::1]", 5) == 0;
}

static char *read_url(struct conf_section *sec, struct diag *d)
{
    const char *url = conf_section_get(sec, "url");
    int tls;

    if (!url) {
        diag_error(d, sec->file, sec->line, 0,
                   "[channel.%s]: a webhook needs `url = https://HOST/PATH`",
                   sec->name);
        return NULL;
    }
    if (!url_ok(url, &tls)) {
        diag_error(d, sec->file, conf_section_line(sec, "url"), 0,
                   "url: \"%s\" is not an http or https URL: write "
                   "https://HOST/PATH",
                   url);
        return NULL;
    }
    if (!tls && !is_loopback(url))
        log_warnx("channel %s: url is plain http: students' data crosses "
                  "the network unencrypted; use https",
                  sec->name);
    return strdup(url);
}

static char *read_secret(const struct config *cfg, struct conf_section *sec,
                         struct diag *d)
{
    const char *v = conf_section_get(sec, "secret");
    char err[256], *secret;

    if (!v) {
        diag_error(d, sec->file, sec->line, 0,
                   "[channel.%s]: a webhook needs `secret = env:NAME` (or "
                   "file:PATH), the key its signatures are made with",
                   sec->name);
        return NULL;
    }
    err[0] = '\0';
    if (!(secret = config_secret(cfg, v, err, sizeof err))) {
        diag_error(d, sec->file, conf_section_line(sec, "secret"), 0,
                   "secret: %s", *err ? err : "out of memory");
        return NULL;
    }
    if (!*secret) {
        diag_error(d, sec->file, conf_section_line(sec, "secret"), 0,
                   "secret: it is empty: a signature needs a key");
        free(secret);
        return NULL;
    }
    return secret;
}

static void webhook_free(struct webhook *w)
{
    if (!w)
        return;
    httpc_free(w->http);
    free(w->url);
    if (w->secret)
        explicit_bzero(w->secret, strlen(w->secret));
    free(w->secret);
    free(w);
}

static void *webhook_init(const struct chan_conf *cc, struct conf_section *sec,
                          const struct config *cfg, struct diag *d)
{
    struct webhook *w = calloc(1, sizeof *w);
    char err[256];

    if (!w)
        return NULL;
    w->url = read_url(sec, d);
    w->secret = read_secret(cfg, sec, d);
    if (!w->url || !w->secret)
        goto fail;
    if (!(w->http = httpc_new(cc, err, sizeof err))) {
        diag_error(d, sec->file, sec->line, 0, "[channel.%s]: %s", sec->name,
                   err);
        goto fail;
    }
    return w;
fail:
    webhook_free(w);
    return NULL;
}

/* --- the request ------------------------------------------------------- */

static void set_opt(json_t *obj, const char *key, const char *value)
{
    if (value)
        json_object_set_new(obj, key, json_string(value));
}

/* A webhook part is JSON text the templates rendered: it goes in as
 * "data", an object the receiver need not parse twice. Anything else (or
 * text that is not JSON) is the "body" string. */
static void set_body(json_t *obj, const struct chan_msg *m)
{
    json_t *data;

    if (!m->body)
        return;
    if (m->type && strcmp(m->type, "webhook") == 0 &&
        (data = json_loads(m->body, JSON_DECODE_ANY, NULL))) {
        json_object_set_new(obj, "data", data);
        return;
    }
    set_opt(obj, "body", m->body);
}

/* The JSON text of m, or NULL on no memory. The caller frees. */
static char *message_json(const struct chan_msg *m, const char *key, time_t now)
{
    char sent_at[32];
    struct tm tm;
    json_t *obj = json_object();
    char *text;

    if (!obj)
        return NULL;
    gmtime_r(&now, &tm);
    strftime(sent_at, sizeof sent_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    set_opt(obj, "id", key);
    set_opt(obj, "student", m->student);
    set_opt(obj, "channel", m->channel);
    set_opt(obj, "rule", m->rule);
    if (m->step >= 0)
        json_object_set_new(obj, "step", json_integer(m->step));
    set_opt(obj, "template", m->template_name);
    set_opt(obj, "type", m->type);
    set_opt(obj, "to", m->to);
    set_opt(obj, "subject", m->subject);
    set_body(obj, m);
    set_opt(obj, "html", m->html);
    set_opt(obj, "format", m->format);
    set_opt(obj, "sent_at", sent_at);
    text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return text;
}

/* hex HMAC-SHA256(secret, "<timestamp>.<body>") into out (65 bytes). */
static int sign(const char *secret, long long timestamp, const char *body,
                char out[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char *text;
    int n = asprintf(&text, "%lld.%s", timestamp, body);

    if (n < 0)
        return -1;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret),
              (const unsigned char *)text, (size_t)n, mac, &maclen)) {
        free(text);
        return -1;
    }
    free(text);
    for (unsigned int i = 0; i < maclen && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    return 0;
}

static struct httpc_req *request_new(const struct webhook *w, const char *key,
                                     const char *body, long long now)
{
    struct httpc_req *q = httpc_req_new("POST", w->url);
    char sig[65];

    if (!q)
        return NULL;
    if (sign(w->secret, now, body, sig) < 0 ||
        httpc_req_header(q, "Content-Type: application/json") < 0 ||
        httpc_req_header(q, "Idempotency-Key: %s", key) < 0 ||
        httpc_req_header(q, "X-Nudge-Timestamp: %lld", now) < 0 ||
        httpc_req_header(q, "X-Nudge-Signature: sha256=%s", sig) < 0 ||
        httpc_req_body(q, body, strlen(body)) < 0) {
        httpc_req_free(q);
        return NULL;
    }
    return q;
}

/* --- the answer -------------------------------------------------------- */

/* The receiver's "id" if it answered JSON with one, else our key. */
static void provider_id(const struct httpc_resp *r, const char *key,
                        struct chan_result *res)
{
    json_t *doc = r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;

    if (!chan_result_json_id(res, doc, "id"))
        snprintf(res->provider_id, sizeof res->provider_id, "%s", key);
    json_decref(doc);
}

static void on_answer(void *arg, const struct httpc_resp *r)
{
    struct call *call = arg;
    struct chan_result res;

    memset(&res, 0, sizeof res);
    if (httpc_classify(r, &res) == CHAN_OK)
        provider_id(r, call->key, &res);
    else if (r->status == 401 || r->status == 403)
        res.account = 1; /* our secret or URL is wrong, not the student */
    call->done(call->arg, &res);
    free(call);
}

/* Copies a value that goes into a header line: no control characters,
 * so that no value can end the line and add a header of its own. */
static void header_safe_copy(char *out, size_t n, const char *in)
{
    size_t i;

    for (i = 0; in[i] && i + 1 < n; i++)
        out[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '_' : in[i];
    out[i] = '\0';
}

static void webhook_submit(void *self, const struct chan_msg *m,
                           chan_done_fn done, void *arg)
{
    struct webhook *w = self;
    struct chan_result res;
    struct httpc_req *q = NULL;
    struct call *call = calloc(1, sizeof *call);
    char *body = NULL;
    time_t now = (time_t)(clock_now_ms() / 1000); /* sent_at = timestamp */

    if (!call)
        goto nomem;
    call->done = done;
    call->arg = arg;
    if (m->idempotency_key && *m->idempotency_key)
        header_safe_copy(call->key, sizeof call->key, m->idempotency_key);
    else
        snprintf(call->key, sizeof call->key, "webhook-%ld-%lu", (long)getpid(),
                 __atomic_add_fetch(&w->seq, 1, __ATOMIC_RELAXED));
    if (!(body = message_json(m, call->key, now)) ||
        !(q = request_new(w, call->key, body, (long long)now)))
        goto nomem;
    free(body);
    q->done = on_answer;
    q->arg = call;
    if (httpc_submit(w->http, q) < 0) { /* closing: q is freed */
        memset(&res, 0, sizeof res);
        chan_result_fail(&res, CHAN_TRANSIENT, "closing",
                         "webhook: the channel is closing");
        free(call);
        done(arg, &res);
    }
    return;
nomem:
    free(body);
    free(call);
    memset(&res, 0, sizeof res);
    chan_result_fail(&res, CHAN_TRANSIENT, "ENOMEM", "webhook: out of memory");
    done(arg, &res);
}

static void webhook_close(void *self)
{
    webhook_free(self);
}

const struct chan_driver chan_webhook = {
    .abi_version = CHAN_ABI_VERSION,
    .type = "webhook",
    .caps = 0, /* a receiver may or may not drop a repeated key */
    .init = webhook_init,
    .submit = webhook_submit,
    .close = webhook_close,
};
