/*
 * httpc.h - the HTTP client the sms, wecom and webhook drivers share: one
 * thread per client running libcurl's multi interface, so that hundreds
 * of requests are in flight over a few kept-alive connections, each with
 * the channel's connect and total timeouts, and TLS verified unless the
 * channel turns it off (channels/channel.h, struct chan_conf).
 *
 *     struct httpc *c = httpc_new(cc, err, sizeof err);
 *     struct httpc_req *q = httpc_req_new("POST", url);
 *     httpc_req_header(q, "Content-Type: application/json");
 *     httpc_req_body(q, json, strlen(json));
 *     q->done = on_answer; q->arg = ctx;
 *     httpc_submit(c, q);        // from any thread; never blocks
 *     ...
 *     httpc_free(c);             // ends what is in flight, then frees
 *
 * A request leaves at most once: libcurl's own resend, on a fresh
 * connection, of a request whose reused connection closed unanswered is
 * stopped, and ends with sent = 1 and no answer (CURLE_GOT_NOTHING), as
 * a request that left and got no answer does; the drivers class it
 * unknown, and the channel's on_unknown decides.
 *
 * Threads: httpc_submit() may be called from any thread, the client's own
 * included (a callback that sends a follow-up request, as a WeCom token
 * renewal does). Callbacks run on the client's thread: quick, no
 * blocking I/O.
 *
 * Ownership: a request belongs to the client once submitted (even when
 * httpc_submit() fails: then it is freed at once and its callback is not
 * called); the client frees it after its callback returns. The response
 * passed to the callback is valid only during the call.
 */
#ifndef NUDGE_HTTPC_H
#define NUDGE_HTTPC_H

#include <stddef.h>
#include <stdint.h>

#include "channels/channel.h"

struct httpc;
struct httpc_resp;

struct httpc_req {
    void (*done)(void *arg, const struct httpc_resp *resp);
    void *arg;
    int64_t not_before_ms; /* clock_mono_ms() before which it is not
                              started (a local rate limit); 0: now */
    /* private: set with the functions below */
    char *method, *url, *body;
    size_t len;
    void *headers; /* struct curl_slist * */
    void *easy;    /* CURL *, while in flight */
    struct httpc_req *next;
};

struct httpc_resp {
    int sent;           /* 0: it failed before the request left (no
                           connection, DNS, TLS handshake): safe to send
                           again; 1: the request left */
    int curl_code;      /* CURLE_OK, or the transfer's error */
    const char *error;  /* curl's words for curl_code, or "" */
    long status;        /* the HTTP status; 0 when no answer came */
    const char *body;   /* the answer's body, NUL-terminated */
    size_t len;
    int64_t retry_after_ms; /* Retry-After, 0 when absent */
    double seconds;         /* how long the request took */
};

/* A client with cc's timeouts and TLS settings and its own thread.
 * Returns NULL with err filled. */
struct httpc *httpc_new(const struct chan_conf *cc, char *err, size_t n);
/* Ends every request in flight (their callbacks run, within their
 * timeouts), stops the thread and frees c. Requests submitted but not yet
 * started (not_before_ms still ahead) end at once with sent = 0 and the
 * error "closing" (httpc_classify(): CHAN_TRANSIENT, code "closing",
 * account 0); from the moment it is called httpc_submit() returns -1. */
void httpc_free(struct httpc *c);

/* A request to build; NULL on no memory. */
struct httpc_req *httpc_req_new(const char *method, const char *url);
/* Adds a header line ("Name: value"). 0 or -1. */
int httpc_req_header(struct httpc_req *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sets the body (copied). 0 or -1. */
int httpc_req_body(struct httpc_req *q, const char *body, size_t len);
/* Frees a request that was never submitted. */
void httpc_req_free(struct httpc_req *q);

/* Queues q on c (takes it). Returns 0, or -1 when c is closing (q is
 * freed, its callback not called). */
int httpc_submit(struct httpc *c, struct httpc_req *q);

/* Classifies what transport and status say, for drivers: CHAN_OK for a
 * 2xx, CHAN_TRANSIENT for a failure before the request left, a 408, 429
 * or 5xx (res->retry_after_ms from Retry-After), CHAN_UNKNOWN when it left
 * and no answer came, CHAN_PERMANENT for other 4xx. Fills res->error and
 * res->code ("HTTP 503", or curl's error). A driver then looks at the
 * body for the provider's own codes. */
enum chan_status httpc_classify(const struct httpc_resp *r,
                                struct chan_result *res);

#endif
