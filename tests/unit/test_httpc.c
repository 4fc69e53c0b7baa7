/*
 * test_httpc.c - the shared HTTP client (channels/httpc.c): how transport
 * and status are classed, and real round trips against a tiny loopback
 * HTTP server started here (a thread polling a listening socket, answering
 * canned responses by path), including 300 requests at once.
 */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "channels/httpc.h"
#include "core/clock.h"
#include "tests/support/check_run.h"

/* --- httpc_classify ---------------------------------------------------- */

static const struct {
    int sent, curl_code;
    long status;
    int64_t retry_after_ms;
    enum chan_status want;
    int account;
    const char *code;
    int64_t want_retry_ms;
} classify_cases[] = {
    /* 2xx: accepted */
    {1, CURLE_OK, 200, 0, CHAN_OK, 0, "", 0},
    {1, CURLE_OK, 202, 0, CHAN_OK, 0, "", 0},
    /* never left: the gateway is unreachable, safe to send again */
    {0, CURLE_COULDNT_CONNECT, 0, 0, CHAN_TRANSIENT, 1, "CURLE_COULDNT_CONNECT",
     0},
    {0, CURLE_COULDNT_RESOLVE_HOST, 0, 0, CHAN_TRANSIENT, 1,
     "CURLE_COULDNT_RESOLVE_HOST", 0},
    {0, CURLE_SSL_CONNECT_ERROR, 0, 0, CHAN_TRANSIENT, 1,
     "CURLE_SSL_CONNECT_ERROR", 0},
    /* a connect timeout is a timeout before sending */
    {0, CURLE_OPERATION_TIMEDOUT, 0, 0, CHAN_TRANSIENT, 1,
     "CURLE_OPERATION_TIMEDOUT", 0},
    /* closing before it started: not the gateway's fault */
    {0, CURLE_ABORTED_BY_CALLBACK, 0, 0, CHAN_TRANSIENT, 0, "closing", 0},
    /* left, and no answer came: the gateway may have it */
    {1, CURLE_OPERATION_TIMEDOUT, 0, 0, CHAN_UNKNOWN, 0,
     "CURLE_OPERATION_TIMEDOUT", 0},
    {1, CURLE_GOT_NOTHING, 0, 0, CHAN_UNKNOWN, 0, "CURLE_GOT_NOTHING", 0},
    {1, CURLE_RECV_ERROR, 0, 0, CHAN_UNKNOWN, 0, "CURLE_RECV_ERROR", 0},
    /* an answer too big to read is no answer */
    {1, CURLE_WRITE_ERROR, 200, 0, CHAN_UNKNOWN, 0, "CURLE_WRITE_ERROR", 0},
    /* an error without a name of ours still gets a code */
    {1, CURLE_TOO_MANY_REDIRECTS, 0, 0, CHAN_UNKNOWN, 0, "CURLE_47", 0},
    /* try later, with the server's Retry-After */
    {1, CURLE_OK, 429, 7000, CHAN_TRANSIENT, 0, "HTTP 429", 7000},
    {1, CURLE_OK, 408, 0, CHAN_TRANSIENT, 0, "HTTP 408", 0},
    /* 5xx: the gateway's trouble, a fallback may do better */
    {1, CURLE_OK, 503, 7000, CHAN_TRANSIENT, 1, "HTTP 503", 7000},
    {1, CURLE_OK, 500, 0, CHAN_TRANSIENT, 1, "HTTP 500", 0},
    {1, CURLE_OK, 502, 0, CHAN_TRANSIENT, 1, "HTTP 502", 0},
    /* other 4xx: sending again will not help */
    {1, CURLE_OK, 400, 0, CHAN_PERMANENT, 0, "HTTP 400", 0},
    {1, CURLE_OK, 401, 0, CHAN_PERMANENT, 0, "HTTP 401", 0},
    {1, CURLE_OK, 404, 0, CHAN_PERMANENT, 0, "HTTP 404", 0},
    /* Retry-After on a permanent answer means nothing */
    {1, CURLE_OK, 403, 5000, CHAN_PERMANENT, 0, "HTTP 403", 0},
    /* a redirect is not followed: not accepted */
    {1, CURLE_OK, 302, 0, CHAN_PERMANENT, 0, "HTTP 302", 0},
};

START_TEST(test_classify)
{
    const __typeof__(classify_cases[0]) *c = &classify_cases[_i];
    struct httpc_resp r = {0};
    struct chan_result res;

    memset(&res, 'x', sizeof res); /* classify must fill what it says */
    res.provider_id[0] = '\0';
    r.sent = c->sent;
    r.curl_code = c->curl_code;
    r.error = c->curl_code ? "curl says no" : "";
    r.status = c->status;
    r.body = "{\"error\":\"busy\",\"to\":\"13812345678\"}";
    r.len = strlen(r.body);
    r.retry_after_ms = c->retry_after_ms;
    ck_assert_int_eq(httpc_classify(&r, &res), c->want);
    ck_assert_int_eq(res.status, c->want);
    ck_assert_int_eq(res.account, c->account);
    ck_assert_str_eq(res.code, c->code);
    ck_assert_int_eq(res.retry_after_ms, c->want_retry_ms);
    if (c->want == CHAN_OK)
        ck_assert_str_eq(res.error, "");
    else
        ck_assert_ptr_nonnull(
            strstr(res.error, c->curl_code ? "curl says no" : c->code));
    /* the answer's phone number never reaches the error text */
    ck_assert_ptr_null(strstr(res.error, "13812345678"));
}
END_TEST

/* --- a loopback HTTP server -------------------------------------------- */

/* Answers by path: /ok 200 with a JSON body; /echo 200 with the request
 * itself as the body; /busy 503 Retry-After: 7; /later 429 with an
 * HTTP-date Retry-After 10 s ahead; /drop closes without answering; /slow
 * never answers. Connections are kept alive. */
#define MAX_CONNS 1024

struct conn {
    int fd;
    char buf[8192];
    size_t len;
    int hold; /* /slow: answer nothing more */
};

struct server {
    int listen_fd, stop_pipe[2], port;
    pthread_t thread;
    struct conn conns[MAX_CONNS];
    int nconns;
    int accepted; /* connections accepted, to see them kept alive */
    pthread_mutex_t mu;
};

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void answer(int fd, int status, const char *extra, const char *body,
                   size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", status,
                     len, extra);
    send_all(fd, head, (size_t)n);
    send_all(fd, body, len);
}

/* Handles every complete request in c's buffer. Returns -1 to close. */
static int serve(struct conn *c)
{
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4), *cl;
        size_t head, total, body = 0;
        char path[64] = "";

        if (!end)
            return c->len >= sizeof c->buf - 1 ? -1 : 0;
        head = (size_t)(end - c->buf) + 4;
        c->buf[head - 1] = '\0'; /* the headers as a string */
        if ((cl = strcasestr(c->buf, "\r\nContent-Length:")))
            body = strtoul(cl + 17, NULL, 10);
        c->buf[head - 1] = '\n';
        total = head + body;
        if (total > c->len)
            return total >= sizeof c->buf ? -1 : 0;
        sscanf(c->buf, "%*s %63s", path);
        if (strcmp(path, "/ok") == 0)
            answer(c->fd, 200, "", "{\"id\":\"m1\"}", 11);
        else if (strcmp(path, "/echo") == 0)
            answer(c->fd, 200, "", c->buf, total);
        else if (strcmp(path, "/busy") == 0)
            answer(c->fd, 503, "Retry-After: 7\r\n", "busy", 4);
        else if (strcmp(path, "/later") == 0) {
            char extra[96];
            time_t when = time(NULL) + 10;
            struct tm tm;
            gmtime_r(&when, &tm);
            strftime(extra, sizeof extra,
                     "Retry-After: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
            answer(c->fd, 429, extra, "", 0);
        } else if (strcmp(path, "/drop") == 0)
            return -1;
        else if (strcmp(path, "/slow") == 0) {
            c->hold = 1;
            return 0;
        } else
            answer(c->fd, 404, "", "", 0);
        memmove(c->buf, c->buf + total, c->len - total);
        c->len -= total;
    }
}

static void conn_close(struct server *s, int i)
{
    close(s->conns[i].fd);
    s->conns[i] = s->conns[--s->nconns];
}

static void accept_one(struct server *s)
{
    int fd = accept(s->listen_fd, NULL, NULL);

    if (fd < 0)
        return;
    if (s->nconns == MAX_CONNS) {
        close(fd);
        return;
    }
    memset(&s->conns[s->nconns], 0, sizeof s->conns[0]);
    s->conns[s->nconns++].fd = fd;
    pthread_mutex_lock(&s->mu);
    s->accepted++;
    pthread_mutex_unlock(&s->mu);
}

static void *server_loop(void *arg)
{
    static struct pollfd pfd[MAX_CONNS + 2];
    struct server *s = arg;

    for (;;) {
        int n = s->nconns;
        pfd[0] = (struct pollfd){.fd = s->stop_pipe[0], .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
        for (int i = 0; i < n; i++)
            pfd[i + 2] =
                (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
        if (poll(pfd, (nfds_t)n + 2, -1) < 0)
            continue;
        if (pfd[0].revents)
            break;
        /* from the end, so that closing (which moves the last) is safe */
        for (int i = n - 1; i >= 0; i--) {
            struct conn *c = &s->conns[i];
            ssize_t r;
            if (!pfd[i + 2].revents)
                continue;
            r = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
            if (r <= 0) {
                conn_close(s, i);
                continue;
            }
            c->len += (size_t)r;
            if (!c->hold && serve(c) < 0)
                conn_close(s, i);
        }
        if (pfd[1].revents)
            accept_one(s);
    }
    while (s->nconns > 0)
        conn_close(s, s->nconns - 1);
    return NULL;
}

static struct server *server_start(void)
{
    struct server *s = calloc(1, sizeof *s);
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;

    ck_assert_ptr_nonnull(s);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(s->listen_fd, 0);
    ck_assert_int_eq(bind(s->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(s->listen_fd, 512), 0);
    getsockname(s->listen_fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    ck_assert_int_eq(pipe(s->stop_pipe), 0);
    pthread_mutex_init(&s->mu, NULL);
    ck_assert_int_eq(pthread_create(&s->thread, NULL, server_loop, s), 0);
    return s;
}

static int server_accepted(struct server *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->accepted;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void server_stop(struct server *s)
{
    ck_assert_int_eq(write(s->stop_pipe[1], "x", 1), 1);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* A loopback port nobody listens on. */
static int closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

/* --- collecting answers ------------------------------------------------ */

struct answer {
    int calls, sent, curl_code;
    long status;
    int64_t retry_after_ms, at_ms;
    char body[2048];
    struct chan_result res;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int answered;

static void on_answer(void *arg, const struct httpc_resp *r)
{
    struct answer *a = arg;

    pthread_mutex_lock(&mu);
    a->calls++;
    a->sent = r->sent;
    a->curl_code = r->curl_code;
    a->status = r->status;
    a->retry_after_ms = r->retry_after_ms;
    a->at_ms = clock_mono_ms();
    snprintf(a->body, sizeof a->body, "%s", r->body);
    ck_assert_uint_eq(strlen(r->body), r->len); /* NUL-terminated */
    httpc_classify(r, &a->res);
    answered++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* Waits (at most 4 s) until n answers came. */
static void wait_answers(int n)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 4;
    pthread_mutex_lock(&mu);
    while (answered < n &&
           pthread_cond_timedwait(&cv, &mu, &until) != ETIMEDOUT)
        ;
    ck_assert_int_eq(answered, n);
    pthread_mutex_unlock(&mu);
}

static struct httpc *client(int max_in_flight, int64_t timeout_ms)
{
    struct chan_conf cc = {.name = "test",
                           .connect_timeout_ms = 1000,
                           .timeout_ms = timeout_ms,
                           .tls_verify = 1,
                           .max_in_flight = max_in_flight};
    char err[128];
    struct httpc *c = httpc_new(&cc, err, sizeof err);

    ck_assert_msg(c != NULL, "httpc_new: %s", err);
    answered = 0;
    return c;
}

static void submit(struct httpc *c, int port, const char *method,
                   const char *path, struct answer *a, int64_t not_before)
{
    char url[128];
    struct httpc_req *q;

    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    ck_assert_ptr_nonnull(q = httpc_req_new(method, url));
    q->done = on_answer;
    q->arg = a;
    q->not_before_ms = not_before;
    ck_assert_int_eq(httpc_req_header(q, "X-Test: %d", 42), 0);
    if (strcmp(method, "POST") == 0)
        ck_assert_int_eq(httpc_req_body(q, "{\"n\":1}", 7), 0);
    ck_assert_int_eq(httpc_submit(c, q), 0);
}

/* --- round trips ------------------------------------------------------- */

static const struct {
    const char *path;
    int nobody_listens;
    int sent;
    long status;
    enum chan_status want;
    int account;
    int64_t retry_after_ms; /* -1: about 10 s (an HTTP-date) */
    const char *body;
} trip_cases[] = {
    /* an answer with a body */
    {"/ok", 0, 1, 200, CHAN_OK, 0, 0, "{\"id\":\"m1\"}"},
    /* the gateway is busy and says when to come back */
    {"/busy", 0, 1, 503, CHAN_TRANSIENT, 1, 7000, "busy"},
    /* Retry-After as an HTTP-date */
    {"/later", 0, 1, 429, CHAN_TRANSIENT, 0, -1, ""},
    /* accepted, then closed without a word: it may have it */
    {"/drop", 0, 1, 0, CHAN_UNKNOWN, 0, 0, ""},
    /* the answer comes after our timeout: it may have it */
    {"/slow", 0, 1, 0, CHAN_UNKNOWN, 0, 0, ""},
    /* nothing listens: never sent */
    {"/ok", 1, 0, 0, CHAN_TRANSIENT, 1, 0, ""},
    /* an unknown path: a 404 is permanent */
    {"/nowhere", 0, 1, 404, CHAN_PERMANENT, 0, 0, ""},
};

START_TEST(test_round_trip)
{
    const __typeof__(trip_cases[0]) *t = &trip_cases[_i];
    struct server *s = server_start();
    struct httpc *c = client(10, 300);
    struct answer a = {0};

    submit(c, t->nobody_listens ? closed_port() : s->port, "POST", t->path, &a,
           0);
    wait_answers(1);
    httpc_free(c);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.sent, t->sent);
    ck_assert_int_eq(a.status, t->status);
    ck_assert_int_eq(a.res.status, t->want);
    ck_assert_int_eq(a.res.account, t->account);
    if (t->retry_after_ms >= 0)
        ck_assert_int_eq(a.retry_after_ms, t->retry_after_ms);
    else
        ck_assert(a.retry_after_ms > 8000 && a.retry_after_ms <= 10000);
    ck_assert_str_eq(a.body, t->body);
    server_stop(s);
}
END_TEST

/* What goes out: the method, our headers, the body, the User-Agent. */
START_TEST(test_request_sent)
{
    struct server *s = server_start();
    struct httpc *c = client(10, 2000);
    struct answer a = {0};

    submit(c, s->port, "POST", "/echo", &a, 0);
    wait_answers(1);
    httpc_free(c);
    ck_assert_int_eq(a.status, 200);
    ck_assert_ptr_nonnull(strstr(a.body, "POST /echo HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(a.body, "\r\nX-Test: 42\r\n"));
    ck_assert_ptr_nonnull(strstr(a.body, "\r\nUser-Agent: nudge/1\r\n"));
    ck_assert_ptr_null(strstr(a.body, "Expect:"));
    ck_assert_ptr_nonnull(strstr(a.body, "\r\n\r\n{\"n\":1}"));
    server_stop(s);
}
END_TEST

/* 300 at once: every callback once, over connections kept alive (the
 * second round reuses them: never more than max_in_flight). */
START_TEST(test_many_at_once)
{
    enum { N = 300 };
    static struct answer a[2 * N];
    struct server *s = server_start();
    struct httpc *c = client(N, 3000);

    memset(a, 0, sizeof a);
    for (int i = 0; i < N; i++)
        submit(c, s->port, "POST", "/ok", &a[i], 0);
    wait_answers(N);
    for (int i = N; i < 2 * N; i++)
        submit(c, s->port, "GET", "/ok", &a[i], 0);
    wait_answers(2 * N);
    ck_assert_int_le(server_accepted(s), N);
    httpc_free(c);
    for (int i = 0; i < 2 * N; i++) {
        ck_assert_int_eq(a[i].calls, 1);
        ck_assert_int_eq(a[i].res.status, CHAN_OK);
    }
    server_stop(s);
}
END_TEST

/* One after the other: one connection, kept alive. */
START_TEST(test_keep_alive)
{
    struct server *s = server_start();
    struct httpc *c = client(10, 2000);
    struct answer a[5];

    memset(a, 0, sizeof a);
    for (int i = 0; i < 5; i++) {
        submit(c, s->port, i % 2 ? "GET" : "POST", "/ok", &a[i], 0);
        wait_answers(i + 1);
        ck_assert_int_eq(a[i].res.status, CHAN_OK);
    }
    httpc_free(c);
    ck_assert_int_eq(server_accepted(s), 1);
    server_stop(s);
}
END_TEST

/* not_before_ms holds a request back, and only that one. */
START_TEST(test_not_before)
{
    struct server *s = server_start();
    struct httpc *c = client(10, 2000);
    struct answer later = {0}, now = {0};
    int64_t t0 = clock_mono_ms();

    submit(c, s->port, "GET", "/ok", &later, t0 + 300);
    submit(c, s->port, "GET", "/ok", &now, 0);
    wait_answers(2);
    httpc_free(c);
    ck_assert_int_ge(later.at_ms - t0, 300);
    ck_assert_int_lt(now.at_ms - t0, 300);
    ck_assert_int_eq(later.res.status, CHAN_OK);
    server_stop(s);
}
END_TEST

/* httpc_free(): a request in flight ends within its timeout; one not yet
 * started ends "closing", never sent; each callback once; no submit after. */
START_TEST(test_free_ends_everything)
{
    struct server *s = server_start();
    struct httpc *c = client(10, 300);
    struct answer slow = {0}, queued = {0};
    int64_t t0 = clock_mono_ms();

    submit(c, s->port, "GET", "/slow", &slow, 0);
    submit(c, s->port, "GET", "/ok", &queued, t0 + 60000);
    usleep(50 * 1000); /* the slow one is in flight */
    httpc_free(c);
    ck_assert_int_lt(clock_mono_ms() - t0, 2000);
    ck_assert_int_eq(slow.calls, 1);
    ck_assert_int_eq(slow.res.status, CHAN_UNKNOWN);
    ck_assert_int_eq(queued.calls, 1);
    ck_assert_int_eq(queued.sent, 0);
    ck_assert_int_eq(queued.res.status, CHAN_TRANSIENT);
    ck_assert_str_eq(queued.res.code, "closing");
    server_stop(s);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("httpc", &tc);

    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, test_classify, 0,
                        sizeof classify_cases / sizeof classify_cases[0]);
    tcase_add_loop_test(tc, test_round_trip, 0,
                        sizeof trip_cases / sizeof trip_cases[0]);
    tcase_add_test(tc, test_request_sent);
    tcase_add_test(tc, test_many_at_once);
    tcase_add_test(tc, test_keep_alive);
    tcase_add_test(tc, test_not_before);
    tcase_add_test(tc, test_free_ends_everything);
    return check_run(s);
}
