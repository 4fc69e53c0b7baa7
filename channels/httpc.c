/*
 * httpc.c - the HTTP client the HTTP drivers share (see httpc.h): one
 * thread per client runs a libcurl multi handle. httpc_submit() puts a
 * request in the inbox under a mutex and wakes the loop with
 * curl_multi_wakeup(); the loop moves it to the waiting list (sorted by
 * not_before_ms), starts it as an easy handle when it is due, and calls its
 * callback when the transfer ends.
 *
 *   inbox (any thread) --> waiting (by not_before) --> multi (in flight)
 *                              |                          |
 *                   closing: done(sent=0)         done(answer or error)
 */
#include "channels/httpc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/clock.h"
#include "core/mask.h"

#define HTTPC_BODY_MAX (1024 * 1024) /* beyond this the transfer fails */
#define HTTPC_IDLE_POLL_MS 1000      /* the loop's longest sleep */

struct httpc {
    CURLM *multi;
    pthread_t thread;
    pthread_mutex_t mu; /* guards inbox and closing */
    struct httpc_req *inbox, **inbox_tail;
    int woken; /* a wake-up is owed to the loop: later submits need none */
    int closing;
    /* the loop's own: */
    struct httpc_req *waiting, *waiting_tail; /* sorted by not_before_ms */
    int running;                              /* transfers in the multi */
    /* settings, from struct chan_conf */
    long connect_timeout_ms, timeout_ms;
    int tls_verify;
    char *ca_file, *ca_path;
};

/* What one transfer collects while in flight (CURLOPT_PRIVATE). */
struct xfer {
    struct httpc_req *q;
    char *body;
    size_t len, cap;
    int64_t retry_after_ms;
    int starts; /* times libcurl began to send it (on_prereq) */
    int resent; /* libcurl wanted to send it again: stopped */
    char errbuf[CURL_ERROR_SIZE];
};

/* --- requests ---------------------------------------------------------- */

struct httpc_req *httpc_req_new(const char *method, const char *url)
{
    struct httpc_req *q = calloc(1, sizeof *q);

    if (!q)
        return NULL;
    q->method = strdup(method);
    q->url = strdup(url);
    if (!q->method || !q->url) {
        httpc_req_free(q);
        return NULL;
    }
    return q;
}

int httpc_req_header(struct httpc_req *q, const char *fmt, ...)
{
    struct curl_slist *l;
    va_list ap;
    char *line;
    int rc;

    va_start(ap, fmt);
    rc = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return -1;
    l = curl_slist_append(q->headers, line); /* copies line */
    free(line);
    if (!l)
        return -1;
    q->headers = l;
    return 0;
}

int httpc_req_body(struct httpc_req *q, const char *body, size_t len)
{
    char *copy = malloc(len + 1);

    if (!copy)
        return -1;
    memcpy(copy, body, len);
    copy[len] = '\0';
    free(q->body);
    q->body = copy;
    q->len = len;
    return 0;
}

void httpc_req_free(struct httpc_req *q)
{
    if (!q)
        return;
    if (q->easy)
        curl_easy_cleanup(q->easy);
    curl_slist_free_all(q->headers);
    free(q->method);
    free(q->url);
    free(q->body);
    free(q);
}

/* --- the client -------------------------------------------------------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void *httpc_loop(void *arg);

static CURLM *multi_new(const struct chan_conf *cc)
{
    long conns = cc->max_in_flight > 0 ? cc->max_in_flight : 200;
    CURLM *m = curl_multi_init();

    if (!m)
        return NULL;
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, conns);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, conns);
    curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    return m;
}

struct httpc *httpc_new(const struct chan_conf *cc, char *err, size_t n)
{
    struct httpc *c;

    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        snprintf(err, n, "libcurl: %s", curl_easy_strerror(global_rc));
        return NULL;
    }
    if (!(c = calloc(1, sizeof *c))) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    c->inbox_tail = &c->inbox;
    c->connect_timeout_ms = (long)cc->connect_timeout_ms;
    c->timeout_ms = (long)cc->timeout_ms;
    c->tls_verify = cc->tls_verify;
    if ((cc->ca_file && !(c->ca_file = strdup(cc->ca_file))) ||
        (cc->ca_path && !(c->ca_path = strdup(cc->ca_path))) ||
        !(c->multi = multi_new(cc))) {
        snprintf(err, n, "out of memory");
        goto fail;
    }
    pthread_mutex_init(&c->mu, NULL);
    if (pthread_create(&c->thread, NULL, httpc_loop, c) != 0) {
        snprintf(err, n, "cannot start the HTTP client's thread");
        pthread_mutex_destroy(&c->mu);
        goto fail;
    }
    return c;
fail:
    if (c->multi)
        curl_multi_cleanup(c->multi);
    free(c->ca_file);
    free(c->ca_path);
    free(c);
    return NULL;
}

int httpc_submit(struct httpc *c, struct httpc_req *q)
{
    pthread_mutex_lock(&c->mu);
    if (c->closing) {
        pthread_mutex_unlock(&c->mu);
        httpc_req_free(q);
        return -1;
    }
    q->next = NULL;
    *c->inbox_tail = q;
    c->inbox_tail = &q->next;
    /* Under the lock: once httpc_free() has set closing, nobody touches
     * the multi handle from outside the loop any more. One wake-up per
     * turn of the loop: a burst of submits costs one write, not one
     * each. */
    if (!c->woken) {
        c->woken = 1;
        curl_multi_wakeup(c->multi);
    }
    pthread_mutex_unlock(&c->mu);
    return 0;
}

void httpc_free(struct httpc *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->closing = 1;
    curl_multi_wakeup(c->multi);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    curl_multi_cleanup(c->multi);
    pthread_mutex_destroy(&c->mu);
    free(c->ca_file);
    free(c->ca_path);
    free(c);
}

/* --- ending a request -------------------------------------------------- */

/* Calls q's callback with r, then frees q and x. */
static void finish(struct httpc_req *q, struct xfer *x,
                   const struct httpc_resp *r)
{
    if (q->done)
        q->done(q->arg, r);
    httpc_req_free(q);
    if (x) {
        free(x->body);
        free(x);
    }
}

/* Ends a request that never left (closing, or no memory to start it). */
static void finish_unsent(struct httpc_req *q, int code, const char *why)
{
    struct httpc_resp r = {0};

    r.curl_code = code;
    r.error = why;
    r.body = "";
    finish(q, NULL, &r);
}

/* Failures that happen before a byte of the request is written. */
static int failed_before_sending(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_OUT_OF_MEMORY:
        return 1;
    default:
        return 0;
    }
}

static void finish_transfer(struct httpc *c, CURL *easy, CURLcode rc)
{
    char *priv = NULL;
    struct xfer *x;
    struct httpc_resp r = {0};
    curl_off_t pretransfer = 0, total = 0;
    long request_size = 0;

    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    x = (struct xfer *)priv;
    curl_multi_remove_handle(c->multi, easy);
    c->running--;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_size);
    curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total);
    r.curl_code = rc;
    r.sent = !failed_before_sending(rc) &&
             (request_size > 0 || pretransfer > 0 || r.status > 0);
    r.error = rc == CURLE_OK ? ""
              : x->errbuf[0] ? x->errbuf
                             : curl_easy_strerror(rc);
    if (x->resent) {
        r.curl_code = CURLE_GOT_NOTHING;
        r.sent = 1;
        r.error = "the connection closed before an answer";
    }
    r.body = x->body ? x->body : "";
    r.len = x->len;
    r.retry_after_ms = x->retry_after_ms;
    r.seconds = total / 1e6;
    finish(x->q, x, &r);
}

/* --- starting a request ------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nmemb;

    if (x->len + n > HTTPC_BODY_MAX)
        return 0; /* CURLE_WRITE_ERROR: an answer this big is not one */
    if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 1024;
        char *b;
        while (cap < x->len + n + 1)
            cap *= 2;
        if (!(b = realloc(x->body, cap)))
            return 0;
        x->body = b;
        x->cap = cap;
    }
    memcpy(x->body + x->len, data, n);
    x->len += n;
    x->body[x->len] = '\0';
    return n;
}

/* Retry-After: delay-seconds, or an HTTP-date. 0 when neither. */
static int64_t retry_after_parse(const char *v)
{
    char *end;
    long long secs;
    time_t when;

    while (*v == ' ' || *v == '\t')
        v++;
    if (*v >= '0' && *v <= '9') {
        secs = strtoll(v, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        return *end || secs > 86400LL * 365 ? 0 : secs * 1000;
    }
    if ((when = curl_getdate(v, NULL)) < 0)
        return 0;
    secs = (long long)(when - time(NULL));
    return secs > 0 ? secs * 1000 : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    static const char name[] = "retry-after:";
    struct xfer *x = arg;
    size_t n = size * nmemb;
    char value[128];

    if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        size_t len = n - (sizeof name - 1);
        if (len >= sizeof value)
            len = sizeof value - 1;
        memcpy(value, data + sizeof name - 1, len);
        value[len] = '\0';
        x->retry_after_ms = retry_after_parse(value);
    }
    return n;
}

static void set_method(CURL *e, const struct httpc_req *q)
{
    if (strcmp(q->method, "GET") == 0 && !q->body) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (strcmp(q->method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
    if (q->body || strcmp(q->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body ? q->body : "");
    }
}

static void set_tls(const struct httpc *c, CURL *e)
{
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
    if (c->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    if (c->ca_path)
        curl_easy_setopt(e, CURLOPT_CAPATH, c->ca_path);
}

/* libcurl sends a request once more, on a fresh connection, when the
 * reused connection it went on closed before any answer (lib/transfer.c
 * Curl_retry_request, "Connection died, retrying a fresh connect"); only
 * libcurl 8.16 can be told not to (CURLOPT_FORBID_RETRY_ON_REUSE). The
 * provider may have had the first: a second start after bytes of the
 * request left is stopped, and the outcome is unknown, for the channel's
 * on_unknown to decide. A reused connection found dead while the request
 * was being written (nothing left) is started again, as libcurl wants. */
static int on_prereq(void *arg, char *primary_ip, char *local_ip,
                     int primary_port, int local_port)
{
    struct xfer *x = arg;
    long written = 0;

    if (x->starts++ > 0 &&
        curl_easy_getinfo(x->q->easy, CURLINFO_REQUEST_SIZE, &written) ==
            CURLE_OK &&
        written > 0) {
        x->resent = 1;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

static CURL *easy_new(const struct httpc *c, struct httpc_req *q,
                      struct xfer *x)
{
    CURL *e = curl_easy_init();

    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_URL, q->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "nudge/1");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    /* HTTP/2 over TLS where the server offers it; wait for the first
     * connection to learn that rather than open hundreds. */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if (strncasecmp(q->url, "https:", 6) == 0)
        curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    set_tls(c, e);
    set_method(e, q);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, (struct curl_slist *)q->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, x);
    return e;
}

static void start(struct httpc *c, struct httpc_req *q)
{
    struct xfer *x = calloc(1, sizeof *x);

    /* No "Expect: 100-continue": a gateway's answer is what we wait for,
     * not a second round trip. */
    if (!x || httpc_req_header(q, "Expect:") < 0 ||
        !(q->easy = easy_new(c, q, x))) {
        free(x);
        finish_unsent(q, CURLE_OUT_OF_MEMORY, "out of memory");
        return;
    }
    x->q = q;
    if (curl_multi_add_handle(c->multi, q->easy) != CURLM_OK) {
        finish_unsent(q, CURLE_FAILED_INIT, "cannot start the transfer");
        free(x);
        return;
    }
    c->running++;
}

/* --- the loop ---------------------------------------------------------- */

/* Inserts q into the waiting list by not_before_ms (stable: FIFO among
 * equals; the common case, a rising not_before, appends at once). */
static void wait_insert(struct httpc *c, struct httpc_req *q)
{
    struct httpc_req **p = &c->waiting;

    q->next = NULL;
    if (!c->waiting_tail || c->waiting_tail->not_before_ms <= q->not_before_ms)
        p = c->waiting_tail ? &c->waiting_tail->next : &c->waiting;
    else
        while (*p && (*p)->not_before_ms <= q->not_before_ms)
            p = &(*p)->next;
    q->next = *p;
    *p = q;
    if (!q->next)
        c->waiting_tail = q;
}

static struct httpc_req *wait_pop(struct httpc *c)
{
    struct httpc_req *q = c->waiting;

    c->waiting = q->next;
    if (!c->waiting)
        c->waiting_tail = NULL;
    q->next = NULL;
    return q;
}

/* Moves the inbox to the waiting list. Returns closing. */
static int take_inbox(struct httpc *c)
{
    struct httpc_req *q, *next;
    int closing;

    pthread_mutex_lock(&c->mu);
    q = c->inbox;
    c->inbox = NULL;
    c->inbox_tail = &c->inbox;
    c->woken = 0;
    closing = c->closing;
    pthread_mutex_unlock(&c->mu);
    for (; q; q = next) {
        next = q->next;
        wait_insert(c, q);
    }
    return closing;
}

/* Starts the due requests; returns how long until the next one is due
 * (HTTPC_IDLE_POLL_MS when none waits). */
static int start_due(struct httpc *c)
{
    int64_t now = clock_mono_ms();

    while (c->waiting && c->waiting->not_before_ms <= now)
        start(c, wait_pop(c));
    if (!c->waiting)
        return HTTPC_IDLE_POLL_MS;
    int64_t wait = c->waiting->not_before_ms - now;
    return wait < HTTPC_IDLE_POLL_MS ? (int)wait : HTTPC_IDLE_POLL_MS;
}

static void fail_waiting(struct httpc *c)
{
    while (c->waiting)
        finish_unsent(wait_pop(c), CURLE_ABORTED_BY_CALLBACK, "closing");
}

static void reap(struct httpc *c)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(c->multi, &left)))
        if (m->msg == CURLMSG_DONE)
            finish_transfer(c, m->easy_handle, m->data.result);
}

static void *httpc_loop(void *arg)
{
    struct httpc *c = arg;
    int still;

    for (;;) {
        int closing = take_inbox(c), timeout;

        if (closing)
            fail_waiting(c);
        timeout = start_due(c);
        curl_multi_perform(c->multi, &still);
        reap(c); /* callbacks may submit: the next turn takes them */
        /* Once closing is set nothing enters the inbox: done. */
        if (closing && c->running == 0 && !c->waiting)
            break;
        curl_multi_poll(c->multi, NULL, 0, timeout, NULL);
    }
    return NULL;
}

/* --- classifying ------------------------------------------------------- */

/* The names of the curl errors a gateway's trouble usually gives. */
static const char *curl_code_name(int code)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
        {CURLE_COULDNT_RESOLVE_HOST, "CURLE_COULDNT_RESOLVE_HOST"},
        {CURLE_COULDNT_CONNECT, "CURLE_COULDNT_CONNECT"},
        {CURLE_OPERATION_TIMEDOUT, "CURLE_OPERATION_TIMEDOUT"},
        {CURLE_SSL_CONNECT_ERROR, "CURLE_SSL_CONNECT_ERROR"},
        {CURLE_PEER_FAILED_VERIFICATION, "CURLE_PEER_FAILED_VERIFICATION"},
        {CURLE_SSL_CACERT_BADFILE, "CURLE_SSL_CACERT_BADFILE"},
        {CURLE_GOT_NOTHING, "CURLE_GOT_NOTHING"},
        {CURLE_SEND_ERROR, "CURLE_SEND_ERROR"},
        {CURLE_RECV_ERROR, "CURLE_RECV_ERROR"},
        {CURLE_WRITE_ERROR, "CURLE_WRITE_ERROR"},
        {CURLE_PARTIAL_FILE, "CURLE_PARTIAL_FILE"},
        {CURLE_HTTP2, "CURLE_HTTP2"},
        {CURLE_HTTP2_STREAM, "CURLE_HTTP2_STREAM"},
        {CURLE_URL_MALFORMAT, "CURLE_URL_MALFORMAT"},
        {CURLE_UNSUPPORTED_PROTOCOL, "CURLE_UNSUPPORTED_PROTOCOL"},
        {CURLE_OUT_OF_MEMORY, "CURLE_OUT_OF_MEMORY"},
        {CURLE_ABORTED_BY_CALLBACK, "closing"},
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].code == code)
            return names[i].name;
    return NULL;
}

/* "HTTP 503: <the start of the answer, masked>" */
static void http_error(const struct httpc_resp *r, struct chan_result *res)
{
    char head[96], masked[160];
    size_t n = r->len < sizeof head - 1 ? r->len : sizeof head - 1;

    memcpy(head, r->body ? r->body : "", r->body ? n : 0);
    head[r->body ? n : 0] = '\0';
    for (char *p = head; *p; p++)
        if (*p == '\r' || *p == '\n' || *p == '\t')
            *p = ' ';
    mask_text(head, masked, sizeof masked);
    snprintf(res->code, sizeof res->code, "HTTP %ld", r->status);
    snprintf(res->error, sizeof res->error, "HTTP %ld%s%s", r->status,
             *masked ? ": " : "", masked);
}

enum chan_status httpc_classify(const struct httpc_resp *r,
                                struct chan_result *res)
{
    const char *name;

    res->account = 0;
    res->retry_after_ms = 0;
    if (r->curl_code != CURLE_OK) {
        name = curl_code_name(r->curl_code);
        if (name)
            snprintf(res->code, sizeof res->code, "%s", name);
        else
            snprintf(res->code, sizeof res->code, "CURLE_%d", r->curl_code);
        snprintf(res->error, sizeof res->error, "%s%s",
                 r->sent ? "no answer: " : "not sent: ",
                 r->error && *r->error ? r->error
                                       : curl_easy_strerror(r->curl_code));
        /* Not sent: the gateway is unreachable, another channel may do
         * (but not when it is only us closing). */
        res->account = !r->sent && r->curl_code != CURLE_ABORTED_BY_CALLBACK;
        return res->status = r->sent ? CHAN_UNKNOWN : CHAN_TRANSIENT;
    }
    if (r->status >= 200 && r->status < 300) {
        res->code[0] = res->error[0] = '\0';
        return res->status = CHAN_OK;
    }
    http_error(r, res);
    if (r->status == 408 || r->status == 429 || r->status >= 500) {
        res->retry_after_ms = r->retry_after_ms;
        res->account = r->status >= 500;
        return res->status = CHAN_TRANSIENT;
    }
    if (r->status < 200) /* no final answer: nothing we can read */
        return res->status = CHAN_UNKNOWN;
    return res->status = CHAN_PERMANENT; /* other 4xx, and 3xx not followed */
}
