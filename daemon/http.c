/*
 * http.c - /healthz, /metrics, /unsubscribe, /receipts/sms,
 * /replies/sms and /report over libmicrohttpd (see http.h).
 */
#include "daemon/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"
#include "templates/buf.h"
#include "templates/escape.h"

struct http {
    struct MHD_Daemon *mhd;
    http_health_fn health;
    void *ctx;
    struct unsub *unsub;       /* NULL: no /unsubscribe */
    struct receipts *receipts; /* NULL: no /receipts/sms */
    struct replies *replies;   /* NULL: no /replies/sms */
    struct report_page *report; /* NULL: no /report */
};

/* What a request keeps in libmicrohttpd's per-request *state between the
 * calls of one POST: a marker for /unsubscribe, which reads no body, and
 * a struct body for /receipts/sms and /replies/sms, freed when the
 * request completes. */
static int unsub_post_seen;

struct body {
    struct tbuf buf;
    int too_large;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
                             const char *type, char *body, int owned)
{
    struct MHD_Response *res = MHD_create_response_from_buffer(
        strlen(body), body,
        owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (!res)
        return MHD_NO;
    MHD_add_response_header(res, "Content-Type", type);
    ret = MHD_queue_response(conn, status, res);
    MHD_destroy_response(res);
    return ret;
}

/* --- /unsubscribe ---------------------------------------------------- */

/* The page: msg, and with ask a button that POSTs back to the page's own
 * address. A form without an action posts to the URL it was shown at,
 * query included, under whatever path a proxy publishes it. Its body is
 * RFC 8058's, as a mail provider's one-click POST would send. */
static char *unsub_page(const char *msg, int ask)
{
    struct tbuf b = {0};

    tbuf_adds(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width\">"
                  "<title>退订 Unsubscribe</title></head>\n<body><p>");
    tmpl_esc_append(&b, ESC_HTML, msg, strlen(msg));
    tbuf_adds(&b, "</p>\n");
    if (ask)
        tbuf_adds(&b, "<form method=\"post\"><input type=\"hidden\" "
                      "name=\"List-Unsubscribe\" value=\"One-Click\">"
                      "<button type=\"submit\">退订 Unsubscribe</button>"
                      "</form>\n");
    tbuf_adds(&b, "</body></html>\n");
    tbuf_terminate(&b);
    if (b.oom) {
        tbuf_free(&b);
        return NULL;
    }
    return b.p;
}

static const char *query(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

/* GET shows the question, POST (a mail provider's one-click, or the
 * page's button) records the opt-out. libmicrohttpd calls a POST's
 * handler first with the headers, then with each piece of the body, then
 * once more to answer. */
static enum MHD_Result serve_unsubscribe(struct http *h,
                                         struct MHD_Connection *conn,
                                         const char *method,
                                         size_t *upload_size, void **state)
{
    const char *student = query(conn, "student"),
               *channel = query(conn, "channel"), *token = query(conn, "token");
    char msg[512], *page;
    int status, post = strcmp(method, "POST") == 0;

    if (!h->unsub)
        return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain",
                     "not found: unsubscribe links are off (no "
                     "unsubscribe_secret)\n", 0);
    if (post && !*state) {
        *state = &unsub_post_seen;
        return MHD_YES;
    }
    if (post && *upload_size > 0) {
        *upload_size = 0; /* "List-Unsubscribe=One-Click": nothing to read */
        return MHD_YES;
    }
    if (post)
        status = unsub_handle(h->unsub, student, channel, token, msg,
                              sizeof msg);
    else if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        status = unsub_check(h->unsub, student, channel, token, msg,
                             sizeof msg);
    else
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                     "method not allowed\n", 0);
    if (!(page = unsub_page(msg, !post && status == MHD_HTTP_OK)))
        return MHD_NO;
    return reply(conn, (unsigned)status, "text/html; charset=utf-8", page, 1);
}

/* --- /report ---------------------------------------------------------- */

/* The supervisors' page, with headers that keep it out of caches and let
 * it run nothing: no script at all, only its own inline CSS, images only
 * as data: (it has none; its charts are inline SVG). */
static enum MHD_Result reply_page(struct MHD_Connection *conn,
                                  unsigned status, char *page)
{
    struct MHD_Response *res = MHD_create_response_from_buffer(
        strlen(page), page, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    if (!res) {
        free(page);
        return MHD_NO;
    }
    MHD_add_response_header(res, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(res, "Cache-Control", "no-store");
    MHD_add_response_header(res, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'; "
                            "img-src data:");
    MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(res, "Referrer-Policy", "no-referrer");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(res, "WWW-Authenticate",
                                "Bearer realm=\"nudge report\"");
    ret = MHD_queue_response(conn, status, res);
    MHD_destroy_response(res);
    return ret;
}

static enum MHD_Result serve_report(struct http *h,
                                    struct MHD_Connection *conn,
                                    const char *method)
{
    char *page;
    int status;

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                     "method not allowed: GET the page\n", 0);
    if (!h->report)
        return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain",
                     "not found: the supervisors' page is off; set [http] "
                     "report_token in nudged.conf and restart nudged to "
                     "turn it on (docs/insight.md)\n", 0);
    status = report_page_handle(
        h->report,
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_AUTHORIZATION),
        query(conn, "token"), &page);
    return page ? reply_page(conn, (unsigned)status, page) : MHD_NO;
}

/* --- /receipts/sms and /replies/sms ---------------------------------- */

/* A JSON POST endpoint: its handler, and its answer to a body too large. */
struct post_endpoint {
    const char *what; /* for the answers to a wrong method */
    size_t max_body;
    int (*handle)(void *ctx, const char *body, size_t len,
                  const char *authorization, const char *token, char **out);
    int (*too_large)(void *ctx, char **out);
    void *ctx; /* NULL: the endpoint is off */
};

static int receipts_handle_cb(void *ctx, const char *body, size_t len,
                              const char *authorization, const char *token,
                              char **out)
{
    return receipts_handle(ctx, body, len, authorization, token, out);
}

static int receipts_too_large_cb(void *ctx, char **out)
{
    return receipts_too_large(ctx, out);
}

static int replies_handle_cb(void *ctx, const char *body, size_t len,
                             const char *authorization, const char *token,
                             char **out)
{
    return replies_handle(ctx, body, len, authorization, token, out);
}

static int replies_too_large_cb(void *ctx, char **out)
{
    return replies_too_large(ctx, out);
}

/* Reads the body (at most ep->max_body) over the POST's calls, then
 * hands it to the endpoint's handler. */
static enum MHD_Result serve_post(const struct post_endpoint *ep,
                                  struct MHD_Connection *conn,
                                  const char *method, const char *upload,
                                  size_t *upload_size, void **state)
{
    const char *length = MHD_lookup_connection_value(
        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    struct body *b = *state;
    char *text, msg[128];
    int status;

    if (!ep->ctx)
        return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain",
                     "not found: this endpoint is off\n", 0);
    if (strcmp(method, "POST") != 0) {
        snprintf(msg, sizeof msg, "method not allowed: POST the %s\n",
                 ep->what);
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", msg, 0);
    }
    if (!b) { /* the headers: refuse a body too large before reading it */
        if (length && strtoull(length, NULL, 10) > ep->max_body) {
            status = ep->too_large(ep->ctx, &text);
            return text ? reply(conn, (unsigned)status, "application/json",
                                text, 1)
                        : MHD_NO;
        }
        if (!(*state = calloc(1, sizeof *b)))
            return MHD_NO;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (b->buf.len + *upload_size > ep->max_body)
            b->too_large = 1; /* read on, keep nothing more */
        else
            tbuf_add(&b->buf, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (b->buf.oom)
        return MHD_NO;
    if (b->too_large)
        status = ep->too_large(ep->ctx, &text);
    else
        status = ep->handle(
            ep->ctx, b->buf.p ? b->buf.p : "", b->buf.len,
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                        MHD_HTTP_HEADER_AUTHORIZATION),
            query(conn, "token"), &text);
    if (!text)
        return MHD_NO;
    return reply(conn, (unsigned)status, "application/json", text, 1);
}

/* Frees what a request kept in *state (libmicrohttpd calls this when a
 * request ends, answered or not). */
static void request_done(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode why)
{
    struct body *b = *state;

    if (!b || *state == (void *)&unsub_post_seen)
        return;
    tbuf_free(&b->buf);
    free(b);
    *state = NULL;
}

/* --- the router ------------------------------------------------------- */

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    struct http *h = cls;
    char why[256], body[300];

    if (strcmp(url, "/unsubscribe") == 0)
        return serve_unsubscribe(h, conn, method, upload_size, state);
    if (strcmp(url, "/report") == 0)
        return serve_report(h, conn, method);
    if (strcmp(url, "/receipts/sms") == 0) {
        const struct post_endpoint ep = {"delivery reports", RECEIPTS_MAX_BODY,
                                         receipts_handle_cb,
                                         receipts_too_large_cb, h->receipts};
        return serve_post(&ep, conn, method, upload, upload_size, state);
    }
    if (strcmp(url, "/replies/sms") == 0) {
        const struct post_endpoint ep = {"SMS replies", REPLIES_MAX_BODY,
                                         replies_handle_cb,
                                         replies_too_large_cb, h->replies};
        return serve_post(&ep, conn, method, upload, upload_size, state);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                     "method not allowed\n", 0);
    if (strcmp(url, "/healthz") == 0) {
        why[0] = '\0';
        if (h->health(h->ctx, why, sizeof why))
            return reply(conn, MHD_HTTP_OK, "text/plain", "ok\n", 0);
        snprintf(body, sizeof body, "unhealthy: %s\n", why);
        return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", body,
                     0);
    }
    if (strcmp(url, "/metrics") == 0) {
        char *text = metrics_render();
        if (!text)
            return MHD_NO;
        return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", text, 1);
    }
    return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain",
                 "not found: try /healthz, /metrics, /unsubscribe, "
                 "/receipts/sms, /replies/sms or /report\n", 0);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa, char *err,
                        size_t errlen)
{
    char host[256];
    const char *colon = strrchr(listen, ':');

    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    if (!colon || (size_t)(colon - listen) >= sizeof host) {
        snprintf(err, errlen, "bad listen address \"%s\"", listen);
        return -1;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        snprintf(err, errlen,
                 "listen address \"%s\": use an IPv4 address and a port",
                 listen);
        return -1;
    }
    sa->sin_port = htons((uint16_t)atoi(colon + 1));
    return 0;
}

struct http *http_start(const char *listen, http_health_fn health, void *ctx,
                        struct unsub *unsub, struct receipts *receipts,
                        struct replies *replies, struct report_page *report,
                        char *err, size_t errlen)
{
    struct sockaddr_in sa;
    struct http *h;

    if (parse_listen(listen, &sa, err, errlen) < 0)
        return NULL;
    if (!(h = calloc(1, sizeof *h)))
        return NULL;
    h->health = health;
    h->ctx = ctx;
    h->unsub = unsub;
    h->receipts = receipts;
    h->replies = replies;
    h->report = report;
    h->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
                                  MHD_USE_ERROR_LOG,
                              ntohs(sa.sin_port), NULL, NULL, handle, h,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                              MHD_OPTION_CONNECTION_LIMIT, 64,
                              MHD_OPTION_CONNECTION_TIMEOUT, 10,
                              MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
                              MHD_OPTION_END);
    if (!h->mhd) {
        snprintf(err, errlen, "cannot listen on %s", listen);
        free(h);
        return NULL;
    }
    return h;
}

void http_stop(struct http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->mhd);
    free(h);
}
