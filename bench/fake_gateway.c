/*
 * fake_gateway.c - the benchmarks' provider: an HTTP server (libmicrohttpd,
 * a thread per connection, so that hundreds of requests wait at once)
 * that answers every request after a fixed delay, as a real SMS gateway,
 * WeCom or webhook receiver would, fast enough never to be the limit:
 *
 *   POST /sms                      200 {"id":"gN"}          (generic sms)
 *   GET  /cgi-bin/gettoken         {"errcode":0,"access_token":...}
 *   POST /cgi-bin/message/send     {"errcode":0,"errmsg":"ok","msgid":"mN"}
 *   POST /hook                     200 {"id":"hN"}          (webhook)
 *   GET  /stats                    {"requests":N,"gettoken":N} (no delay)
 *
 *   fake_gateway PORT DELAY_MS     (prints "ready" when listening)
 *
 * The Python fakes of tests/fakes check what they receive; this one only
 * counts, because a benchmark must measure nudge, not the fake.
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_long requests, tokens;
static long delay_us;

static enum MHD_Result answer(struct MHD_Connection *c, unsigned code,
                              const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    MHD_add_response_header(r, "Content-Type", "application/json");
    ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
                              const char *url, const char *method,
                              const char *version, const char *data,
                              size_t *size, void **state)
{
    char body[160];
    long n;

    (void)cls, (void)version, (void)data;
    if (!*state) { /* the headers: wait for the body */
        *state = (void *)1;
        return MHD_YES;
    }
    if (*size) { /* a piece of the body: read and dropped */
        *size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/stats") == 0) {
        snprintf(body, sizeof body, "{\"requests\":%ld,\"gettoken\":%ld}",
                 atomic_load(&requests), atomic_load(&tokens));
        return answer(c, 200, body);
    }
    n = atomic_fetch_add(&requests, 1) + 1;
    usleep((useconds_t)delay_us);
    if (strcmp(url, "/cgi-bin/gettoken") == 0) {
        atomic_fetch_add(&tokens, 1);
        return answer(c, 200,
                      "{\"errcode\":0,\"errmsg\":\"ok\",\"access_token\":"
                      "\"bench-token\",\"expires_in\":7200}");
    }
    if (strcmp(method, "POST") != 0)
        return answer(c, 405, "{}");
    if (strncmp(url, "/cgi-bin/", 9) == 0)
        snprintf(body, sizeof body,
                 "{\"errcode\":0,\"errmsg\":\"ok\",\"msgid\":\"m%ld\"}", n);
    else
        snprintf(body, sizeof body, "{\"id\":\"%c%ld\"}",
                 strcmp(url, "/hook") == 0 ? 'h' : 'g', n);
    return answer(c, 200, body);
}

int main(int argc, char **argv)
{
    struct MHD_Daemon *d;
    sigset_t set;
    int sig;

    if (argc != 3) {
        fprintf(stderr, "usage: fake_gateway PORT DELAY_MS\n");
        return 2;
    }
    delay_us = atol(argv[2]) * 1000;
    d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
                             MHD_USE_INTERNAL_POLLING_THREAD,
                         (uint16_t)atoi(argv[1]), NULL, NULL, handle, NULL,
                         MHD_OPTION_CONNECTION_LIMIT, 4000,
                         MHD_OPTION_CONNECTION_TIMEOUT, 60,
                         MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "fake_gateway: cannot listen on %s\n", argv[1]);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    return 0;
}
