/*
 * email.c - the email channel (see email.h): its keys, and the pool of
 * threads that each send a batch of queued messages in one SMTP session
 * (smtp_session.c does the session).
 */
#include "channels/email.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "channels/smtp_session.h"
#include "core/clock.h"
#include "core/log.h"

/* A thread with fewer than `batch` messages waits for more while they
 * keep coming (each within GATHER_GAP_MS of the last, for at most
 * GATHER_MAX_MS), so that a burst goes in few sessions rather than a
 * session for its first message and another for the rest. */
#define GATHER_GAP_MS 10
#define GATHER_MAX_MS 100

/* A message handed to the driver, waiting for a pool thread. */
struct job {
    const struct chan_msg *msg;
    chan_done_fn done;
    void *arg;
    struct job *next;
};

struct email {
    char *name; /* the channel's, for log lines */
    struct smtp_account acct;
    int sessions, batch;

    pthread_mutex_t mu;
    pthread_cond_t work; /* idle threads: a message came, or closing */
    pthread_cond_t more; /* the gathering thread: a message came */
    struct job *head, *tail;
    size_t queued;
    int gathering; /* a thread is waiting for its batch to fill */
    int closing;
    int unreachable; /* closing, and the last session failed before
                        sending: what is left ends without a try */
    pthread_t *threads;
    int nthreads;
};

/* --- keys ------------------------------------------------------------------ */

static const struct {
    const char *name;
    enum smtp_tls_mode mode;
} tls_modes[] = {
    {"required", SMTP_TLS_REQUIRED},
    {"optional", SMTP_TLS_OPTIONAL},
    {"off", SMTP_TLS_OFF},
};

/* The whole-number keys: name, default and bounds. */
enum { KEY_PORT, KEY_SESSIONS, KEY_BATCH };
static const struct {
    const char *key;
    int def, min, max;
    const char *what;
} int_keys[] = {
    [KEY_PORT] = {"port", 587, 1, 65535, "a TCP port"},
    [KEY_SESSIONS] = {"sessions", 4, 1, 64, "SMTP sessions at once"},
    [KEY_BATCH] = {"batch", 100, 1, 10000, "messages per SMTP session"},
};

static int read_int(struct conf_section *sec, size_t k, struct diag *d)
{
    const char *v = conf_section_get(sec, int_keys[k].key);
    char *end;
    long n;

    if (!v)
        return int_keys[k].def;
    n = strtol(v, &end, 10);
    if (*v && !*end && n >= int_keys[k].min && n <= int_keys[k].max)
        return (int)n;
    diag_error(d, sec->file, conf_section_line(sec, int_keys[k].key), 0,
               "%s: \"%s\" is not a number from %d to %d (%s)",
               int_keys[k].key, v, int_keys[k].min, int_keys[k].max,
               int_keys[k].what);
    return int_keys[k].def;
}

/* A host or EHLO name: no blanks, controls or separators (no colon:
 * libesmtp cuts "host:port" at the first one). */
static int name_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f || strchr("<>,;:@/", *s))
            return 0;
    return 1;
}

/* The address of `from` ("招生办 <admissions@example.edu>" or a bare
 * address), which is the envelope sender; NULL when there is none. */
static char *from_address(const char *from)
{
    const char *lt = strrchr(from, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    const char *a = lt && gt ? lt + 1 : from;
    size_t n = lt && gt ? (size_t)(gt - lt - 1) : strlen(from);

    while (n && *a == ' ')
        a++, n--;
    while (n && a[n - 1] == ' ')
        n--;
    if (!n || !memchr(a, '@', n))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)a[i] <= ' ' || a[i] == 0x7f || a[i] == '<')
            return NULL;
    return strndup(a, n);
}

static void read_tls_mode(struct conf_section *sec, struct email *e,
                          struct diag *d)
{
    const char *v = conf_section_get(sec, "starttls");

    e->acct.tls_mode = SMTP_TLS_REQUIRED;
    if (!v)
        return;
    for (size_t i = 0; i < sizeof tls_modes / sizeof tls_modes[0]; i++)
        if (strcmp(v, tls_modes[i].name) == 0) {
            e->acct.tls_mode = tls_modes[i].mode;
            return;
        }
    diag_error(d, sec->file, conf_section_line(sec, "starttls"), 0,
               "starttls: \"%s\": use required, optional or off", v);
}

static void read_server(struct conf_section *sec, struct email *e,
                        struct diag *d)
{
    const char *host = conf_section_get(sec, "host");
    const char *helo = conf_section_get(sec, "helo");
    char hostport[300];
    int port = read_int(sec, KEY_PORT, d);

    if (helo && !name_ok(helo))
        diag_error(d, sec->file, conf_section_line(sec, "helo"), 0,
                   "helo: \"%s\" is not a host name", helo);
    if (!host || !name_ok(host)) {
        diag_error(d, sec->file, conf_section_line(sec, "host"), 0,
                   host ? "host: \"%s\" is not a host name or IPv4 "
                          "address (libesmtp takes no IPv6 literal: use a "
                          "name)"
                        : "[channel.%s]: an email channel needs `host = "
                          "smtp.example.edu`, its submission server",
                   host ? host : sec->name);
        return;
    }
    snprintf(hostport, sizeof hostport, "%s:%d", host, port);
    e->acct.host = strdup(host);
    e->acct.hostport = strdup(hostport);
    e->acct.port = port;
    e->acct.helo = helo ? strdup(helo) : NULL;
}

static void read_sender(struct conf_section *sec, struct email *e,
                        struct diag *d)
{
    const char *from = conf_section_get(sec, "from");

    if (!from) {
        diag_error(d, sec->file, sec->line, 0,
                   "[channel.%s]: an email channel needs `from = 招生办 "
                   "<admissions@example.edu>`",
                   sec->name);
        return;
    }
    if (!(e->acct.sender = from_address(from)))
        diag_error(d, sec->file, conf_section_line(sec, "from"), 0,
                   "from: \"%s\" holds no email address: write "
                   "`Name <address@example.edu>` or the address",
                   from);
}

static void read_account(const struct config *cfg, struct conf_section *sec,
                         struct email *e, struct diag *d)
{
    const char *user = conf_section_get(sec, "username");
    const char *pass = conf_section_get(sec, "password");
    char err[200];

    if (!user && !pass)
        return;
    if (!user || !pass || !*user) {
        diag_error(d, sec->file,
                   conf_section_line(sec, user ? "username" : "password"), 0,
                   "%s: AUTH needs both username and password",
                   user ? "username" : "password");
        return;
    }
    e->acct.username = strdup(user);
    if (!(e->acct.password = config_secret(cfg, pass, err, sizeof err)))
        diag_error(d, sec->file, conf_section_line(sec, "password"), 0,
                   "password: %s", err);
    else if (e->acct.tls_mode == SMTP_TLS_OFF)
        diag_warning(d, sec->file, conf_section_line(sec, "starttls"), 0,
                     "starttls = off: the password goes to %s unencrypted",
                     e->acct.host ? e->acct.host : "the server");
}

/* --- the pool -------------------------------------------------------------- */

/* Up to e->batch jobs off the queue (mu held); NULL when empty. */
static struct job *take_batch(struct email *e, size_t *n)
{
    struct job *first = e->head, *j = first, *last = NULL;

    *n = 0;
    while (j && *n < (size_t)e->batch) {
        last = j;
        j = j->next;
        (*n)++;
    }
    e->head = j;
    e->queued -= *n;
    if (!j)
        e->tail = NULL;
    if (last)
        last->next = NULL;
    return first;
}

static void wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, mu, &ts);
}

/* Waits (mu held) while messages keep arriving, until a batch is full. */
static void gather(struct email *e)
{
    int64_t end = clock_mono_ms() + GATHER_MAX_MS;

    e->gathering = 1;
    while (!e->closing && e->queued < (size_t)e->batch) {
        size_t before = e->queued;
        int64_t left = end - clock_mono_ms();
        if (left <= 0)
            break;
        wait_ms(&e->more, &e->mu, left < GATHER_GAP_MS ? left
                                                       : GATHER_GAP_MS);
        if (e->queued == before)
            break; /* the burst is over */
    }
    e->gathering = 0;
    pthread_cond_broadcast(&e->work); /* others may take what is left */
}

/* Ends jobs without trying them. */
static void fail_jobs(struct job *j, const char *why)
{
    struct chan_result res;

    while (j) {
        struct job *next = j->next;
        memset(&res, 0, sizeof res);
        chan_result_fail(&res, CHAN_TRANSIENT, "closing", "%s", why);
        j->done(j->arg, &res);
        free(j);
        j = next;
    }
}

/* Did the session fail before any message went (all of them transient
 * on the account)? Then the server is unreachable for now. */
static int session_failed(const struct smtp_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].res.status != CHAN_TRANSIENT || !items[i].res.account)
            return 0;
    return n > 0;
}

static void send_batch(struct email *e, struct job *jobs, size_t n)
{
    struct smtp_item *items = calloc(n, sizeof *items);
    struct job *j;
    size_t i;

    if (!items) {
        fail_jobs(jobs, "email: out of memory");
        return;
    }
    for (i = 0, j = jobs; j; j = j->next, i++)
        items[i].msg = j->msg;
    smtp_session_send(&e->acct, items, n);
    if (session_failed(items, n)) {
        log_warnx("channel %s: %s", e->name, items[0].res.error);
        pthread_mutex_lock(&e->mu);
        e->unreachable = e->closing;
        pthread_mutex_unlock(&e->mu);
    }
    for (i = 0; jobs; i++) {
        struct job *next = jobs->next;
        jobs->done(jobs->arg, &items[i].res);
        free(jobs);
        jobs = next;
    }
    free(items);
}

static void *pool_thread(void *arg)
{
    struct email *e = arg;
    struct job *jobs;
    size_t n;

    smtp_session_thread_init();
    pthread_mutex_lock(&e->mu);
    for (;;) {
        /* one thread gathers at a time; the others take full batches */
        while (!e->closing &&
               (!e->head ||
                (e->gathering && e->queued < (size_t)e->batch)))
            pthread_cond_wait(&e->work, &e->mu);
        if (!e->head)
            break;
        if (!e->closing && e->queued < (size_t)e->batch)
            gather(e);
        if (!e->head)
            continue;
        if (e->unreachable) {
            jobs = take_batch(e, &n);
            pthread_mutex_unlock(&e->mu);
            fail_jobs(jobs, "channel closing: the SMTP server could not "
                            "be reached");
        } else {
            jobs = take_batch(e, &n);
            pthread_mutex_unlock(&e->mu);
            send_batch(e, jobs, n);
        }
        pthread_mutex_lock(&e->mu);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

static void stop_pool(struct email *e)
{
    pthread_mutex_lock(&e->mu);
    e->closing = 1;
    pthread_cond_broadcast(&e->work);
    pthread_cond_broadcast(&e->more);
    pthread_mutex_unlock(&e->mu);
    for (int i = 0; i < e->nthreads; i++)
        pthread_join(e->threads[i], NULL);
    e->nthreads = 0;
}

static int start_pool(struct email *e)
{
    if (!(e->threads = calloc((size_t)e->sessions, sizeof *e->threads)))
        return -1;
    for (int i = 0; i < e->sessions; i++) {
        if (pthread_create(&e->threads[i], NULL, pool_thread, e) != 0) {
            stop_pool(e);
            return -1;
        }
        e->nthreads++;
    }
    return 0;
}

/* --- the driver ------------------------------------------------------------- */

static void init_monotonic_cond(pthread_cond_t *cv)
{
    pthread_condattr_t a;

    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

static void email_free(struct email *e)
{
    smtp_account_free(&e->acct);
    pthread_cond_destroy(&e->work);
    pthread_cond_destroy(&e->more);
    pthread_mutex_destroy(&e->mu);
    free(e->threads);
    free(e->name);
    free(e);
}

static void *email_init(const struct chan_conf *cc, struct conf_section *sec,
                        const struct config *cfg, struct diag *d)
{
    struct email *e = calloc(1, sizeof *e);
    int errors = d->errors;
    char err[200];

    if (!e)
        return NULL;
    pthread_mutex_init(&e->mu, NULL);
    init_monotonic_cond(&e->work);
    init_monotonic_cond(&e->more);
    e->name = strdup(sec->name);
    read_server(sec, e, d);
    read_sender(sec, e, d);
    read_tls_mode(sec, e, d);
    read_account(cfg, sec, e, d);
    e->sessions = read_int(sec, KEY_SESSIONS, d);
    e->batch = read_int(sec, KEY_BATCH, d);
    e->acct.timeout_ms = cc->timeout_ms;
    e->acct.connect_timeout_ms = cc->connect_timeout_ms;
    if (d->errors == errors &&
        smtp_account_tls(&e->acct, cc, err, sizeof err) < 0)
        diag_error(d, sec->file,
                   conf_section_line(sec, cc->ca_file   ? "ca_file"
                                          : cc->ca_path ? "ca_path"
                                                        : "host"),
                   0, "%s", err);
    if (d->errors != errors || !e->name || !e->acct.hostport ||
        start_pool(e) < 0) {
        email_free(e);
        return NULL;
    }
    return e;
}

static void email_submit(void *self, const struct chan_msg *msg,
                         chan_done_fn done, void *arg)
{
    struct email *e = self;
    struct job *j = malloc(sizeof *j);
    struct chan_result res = {0};

    if (!j) {
        chan_result_fail(&res, CHAN_TRANSIENT, "ENOMEM", "out of memory");
        done(arg, &res);
        return;
    }
    *j = (struct job){msg, done, arg, NULL};
    pthread_mutex_lock(&e->mu);
    if (e->tail)
        e->tail->next = j;
    else
        e->head = j;
    e->tail = j;
    e->queued++;
    pthread_cond_signal(e->gathering ? &e->more : &e->work);
    pthread_mutex_unlock(&e->mu);
}

static void email_close(void *self)
{
    struct email *e = self;

    stop_pool(e); /* the threads send what is queued first */
    email_free(e);
}

const struct chan_driver chan_email = {
    .abi_version = CHAN_ABI_VERSION,
    .type = "email",
    .caps = 0,
    .init = email_init,
    .submit = email_submit,
    .close = email_close,
};
