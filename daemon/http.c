/*
 * http.c - /healthz and /metrics over libmicrohttpd (see http.h).
 */
#include "daemon/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"

struct http {
    struct MHD_Daemon *mhd;
    http_health_fn health;
    void *ctx;
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

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    struct http *h = cls;
    char why[256], body[300];

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
                 "not found: try /healthz or /metrics\n", 0);
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
    h->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
                                  MHD_USE_ERROR_LOG,
                              ntohs(sa.sin_port), NULL, NULL, handle, h,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                              MHD_OPTION_CONNECTION_LIMIT, 64,
                              MHD_OPTION_CONNECTION_TIMEOUT, 10, MHD_OPTION_END);
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
