/*
 * fake_gateway.c - the benchmarks' provider: an HTTP server (libmicrohttpd
 * on epoll, two threads) that answers every request after a fixed delay,
 * as a real SMS gateway, WeCom or webhook receiver would, fast enough
 * never to be the limit. A request waits suspended (no thread held): a
 * timer thread resumes each when its delay is over, so thousands can wait
 * at once for the cost of a list entry.
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
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_long requests, tokens;
static long delay_us;

/* The requests waiting out their delay, in arrival order (which is the
 * order they fall due, every delay being the same). */
struct waiting {
    struct MHD_Connection *c;
    int64_t due_us;
    struct waiting *next;
};
static struct waiting *wait_head, *wait_tail;
static pthread_mutex_t wait_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wait_cv = PTHREAD_COND_INITIALIZER;

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Suspends c until its delay is over. 0, or -1 (no memory). */
static int delay(struct MHD_Connection *c)
{
    struct waiting *w = malloc(sizeof *w);

    if (!w)
        return -1;
    w->c = c;
    w->due_us = now_us() + delay_us;
    w->next = NULL;
    MHD_suspend_connection(c);
    pthread_mutex_lock(&wait_mu);
    if (wait_tail)
        wait_tail->next = w;
    else
        wait_head = w;
    wait_tail = w;
    pthread_cond_signal(&wait_cv);
    pthread_mutex_unlock(&wait_mu);
    return 0;
}

/* The timer: resumes each waiting request when it is due. */
static void *resume_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&wait_mu);
    for (;;) {
        struct waiting *w = wait_head;
        int64_t left;

        if (!w) {
            pthread_cond_wait(&wait_cv, &wait_mu);
            continue;
        }
        if ((left = w->due_us - now_us()) > 0) {
            pthread_mutex_unlock(&wait_mu);
            usleep((useconds_t)(left < 1000 ? left : 1000));
            pthread_mutex_lock(&wait_mu);
            continue;
        }
        if (!(wait_head = w->next))
            wait_tail = NULL;
        pthread_mutex_unlock(&wait_mu);
        MHD_resume_connection(w->c);
        free(w);
        pthread_mutex_lock(&wait_mu);
    }
    return NULL;
}

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
    if (*state == (void *)1 && delay_us > 0) { /* answered when resumed */
        *state = (void *)2;
        return delay(c) == 0 ? MHD_YES : MHD_NO;
    }
    n = atomic_fetch_add(&requests, 1) + 1;
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
    pthread_t timer;
    sigset_t set;
    int sig;

    if (argc != 3) {
        fprintf(stderr, "usage: fake_gateway PORT DELAY_MS\n");
        return 2;
    }
    delay_us = atol(argv[2]) * 1000;
    if (pthread_create(&timer, NULL, resume_main, NULL) != 0) {
        fprintf(stderr, "fake_gateway: no timer thread\n");
        return 1;
    }
    d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD |
                             MHD_ALLOW_SUSPEND_RESUME,
                         (uint16_t)atoi(argv[1]), NULL, NULL, handle, NULL,
                         MHD_OPTION_THREAD_POOL_SIZE, 2,
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
