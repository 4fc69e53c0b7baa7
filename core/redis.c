/*
 * redis.c - the self-healing hiredis connection (see redis.h).
 */
#include "core/redis.h"

#include <openssl/sha.h>

#include <errno.h>
#include <hiredis/sds.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/backoff.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/reply.h"
#include "core/resp.h"

#define RECONNECT_BASE_MS 100
#define RECONNECT_CAP_MS 5000
#define DEFAULT_CMD_TIMEOUT_MS 5000

static _Atomic int64_t last_reply_ms;

/* A reply came (or a connect succeeded): Redis is answering. */
static void note_reply(void)
{
    atomic_store_explicit(&last_reply_ms, clock_mono_ms(),
                          memory_order_relaxed);
}

struct metric *rconn_reconnects_metric(void)
{
    return metric_counter("nudge_redis_reconnects_total",
                          "Reconnections to Redis, by every connection of "
                          "the process (each is logged)",
                          NULL);
}

int64_t rconn_last_reply_ms(void)
{
    return atomic_load_explicit(&last_reply_ms, memory_order_relaxed);
}

/* How long a reply is awaited on rc's socket (0: forever). */
static void set_reply_timeout(struct rconn *rc, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

    if (rc->c && ms > 0)
        redisSetTimeout(rc->c, tv);
}

struct rconn *rconn_new_addr(const char *address, const char *password,
                             int db, volatile int *stop)
{
    struct rconn *rc = calloc(1, sizeof *rc);

    if (!rc)
        return NULL;
    rc->address = strdup(address);
    rc->password = password ? strdup(password) : NULL;
    rc->db = db;
    rc->timeout_ms = 2000;
    rc->cmd_timeout_ms = DEFAULT_CMD_TIMEOUT_MS;
    rc->stop = stop;
    if (!rc->address || (password && !rc->password)) {
        rconn_free(rc);
        return NULL;
    }
    return rc;
}

struct rconn *rconn_new(const struct config *cfg, volatile int *stop)
{
    struct rconn *rc = rconn_new_addr(cfg->redis.address, cfg->redis.password,
                                      cfg->redis.db, stop);
    if (rc) {
        rc->timeout_ms = cfg->redis.connect_timeout_ms;
        rc->cmd_timeout_ms = cfg->redis.timeout_ms;
    }
    return rc;
}

void rconn_close(struct rconn *rc)
{
    if (rc->c) {
        redisFree(rc->c);
        rc->c = NULL;
    }
}

void rconn_free(struct rconn *rc)
{
    if (!rc)
        return;
    rconn_close(rc);
    free(rc->address);
    if (rc->password) {
        explicit_bzero(rc->password, strlen(rc->password));
        free(rc->password);
    }
    free(rc);
}

static void set_err(struct rconn *rc, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(struct rconn *rc, int err, const char *fmt, ...)
{
    va_list ap;

    rc->err = err ? err : REDIS_ERR_OTHER;
    va_start(ap, fmt);
    vsnprintf(rc->errstr, sizeof rc->errstr, fmt, ap);
    va_end(ap);
}

static redisContext *dial(const struct rconn *rc)
{
    struct timeval tv = {rc->timeout_ms / 1000,
                         (rc->timeout_ms % 1000) * 1000};
    char host[256];
    const char *colon;

    if (strncmp(rc->address, "unix:", 5) == 0)
        return redisConnectUnixWithTimeout(rc->address + 5, tv);
    colon = strrchr(rc->address, ':');
    if (!colon || (size_t)(colon - rc->address) >= sizeof host)
        return NULL;
    memcpy(host, rc->address, (size_t)(colon - rc->address));
    host[colon - rc->address] = '\0';
    return redisConnectWithTimeout(host, atoi(colon + 1), tv);
}

/* AUTH and SELECT; the reply text is Redis's, which never echoes the
 * password. */
static int handshake(struct rconn *rc)
{
    redisReply *r;

    if (rc->password) {
        r = redisCommand(rc->c, "AUTH %s", rc->password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            set_err(rc, REDIS_ERR_OTHER, "AUTH failed: %s",
                    r ? r->str : rc->c->errstr);
            if (r)
                reply_free(r);
            return -1;
        }
        reply_free(r);
    }
    if (rc->db != 0) {
        r = redisCommand(rc->c, "SELECT %d", rc->db);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            set_err(rc, REDIS_ERR_OTHER, "SELECT %d failed: %s", rc->db,
                    r ? r->str : rc->c->errstr);
            if (r)
                reply_free(r);
            return -1;
        }
        reply_free(r);
    }
    return 0;
}

int rconn_connect(struct rconn *rc)
{
    rconn_close(rc);
    rc->c = dial(rc);
    if (!rc->c || rc->c->err) {
        set_err(rc, rc->c ? rc->c->err : REDIS_ERR_OTHER,
                "cannot connect to Redis at %s: %s", rc->address,
                rc->c ? rc->c->errstr : "out of memory");
        rconn_close(rc);
        return -1;
    }
    /* before AUTH: a port that accepts and never answers must not hang
     * the handshake either */
    set_reply_timeout(rc, rc->cmd_timeout_ms);
    /* Keep the read buffer between replies too: hiredis frees one with
     * more than 16 KiB unused, and a batch's replies regrew it. */
    rc->c->reader->maxbuf = 0;
    reply_pool_attach(rc->c);
    if (handshake(rc) < 0) {
        rconn_close(rc);
        return -1;
    }
    if (rc->ever_connected) { /* logged and counted here, once each */
        rc->reconnects++;
        metric_inc(rconn_reconnects_metric());
        log_info("reconnected to Redis at %s", rc->address);
    }
    rc->ever_connected = 1;
    rc->err = 0;
    rc->errstr[0] = '\0';
    rc->attempt = 0;
    note_reply();
    return 0;
}

int rconn_ensure(struct rconn *rc)
{
    while (!rc->c) {
        if (rc->stop && *rc->stop)
            return -1;
        if (rconn_connect(rc) == 0)
            return 0;
        int64_t wait = backoff_equal_jitter(RECONNECT_BASE_MS, RECONNECT_CAP_MS,
                                            rc->attempt++, backoff_random());
        if (rc->attempt == 1 || rc->attempt % 10 == 0)
            log_warnx("%s; retrying in %lld ms", rc->errstr, (long long)wait);
        if (clock_sleep_ms(wait, rc->stop) < 0)
            return -1;
    }
    return 0;
}

/* After hiredis reports an I/O or protocol error the context is unusable:
 * remember why and drop it. */
static void conn_failed(struct rconn *rc)
{
    int timed_out = errno == EAGAIN || errno == EWOULDBLOCK;

    if (rc->c && rc->c->err == REDIS_ERR_IO && timed_out)
        set_err(rc, REDIS_ERR_IO,
                "Redis at %s did not answer within %lld ms ([redis] "
                "timeout): dropping the connection",
                rc->address, (long long)rc->cmd_timeout_ms);
    else
        set_err(rc, rc->c ? rc->c->err : REDIS_ERR_IO,
                "Redis connection lost: %s",
                rc->c ? rc->c->errstr : "not connected");
    rconn_close(rc);
}

redisReply *rconn_cmd(struct rconn *rc, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    if (!rc->c) {
        set_err(rc, REDIS_ERR_IO, "not connected to Redis");
        return NULL;
    }
    va_start(ap, fmt);
    r = redisvCommand(rc->c, fmt, ap);
    va_end(ap);
    if (!r)
        conn_failed(rc);
    else
        note_reply();
    return r;
}

redisReply *rconn_cmd_blocking(struct rconn *rc, int64_t block_ms,
                               const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    if (!rc->c) {
        set_err(rc, REDIS_ERR_IO, "not connected to Redis");
        return NULL;
    }
    set_reply_timeout(rc, rc->cmd_timeout_ms ? block_ms + rc->cmd_timeout_ms
                                             : 0);
    va_start(ap, fmt);
    r = redisvCommand(rc->c, fmt, ap);
    va_end(ap);
    if (!r) {
        conn_failed(rc);
        return NULL;
    }
    note_reply();
    set_reply_timeout(rc, rc->cmd_timeout_ms);
    return r;
}

redisReply *rconn_cmdargv(struct rconn *rc, int argc, const char **argv,
                          const size_t *argvlen)
{
    redisReply *r;

    if (!rc->c) {
        set_err(rc, REDIS_ERR_IO, "not connected to Redis");
        return NULL;
    }
    r = redisCommandArgv(rc->c, argc, argv, argvlen);
    if (!r)
        conn_failed(rc);
    else
        note_reply();
    return r;
}

int rconn_append(struct rconn *rc, const char *fmt, ...)
{
    va_list ap;
    int ret;

    if (!rc->c) {
        set_err(rc, REDIS_ERR_IO, "not connected to Redis");
        return -1;
    }
    va_start(ap, fmt);
    ret = redisvAppendCommand(rc->c, fmt, ap);
    va_end(ap);
    if (ret != REDIS_OK) {
        conn_failed(rc);
        return -1;
    }
    return 0;
}

int rconn_appendargv(struct rconn *rc, int argc, const char **argv,
                     const size_t *argvlen)
{
    char buf[RESP_SHORT_MAX];
    size_t n;

    if (!rc->c) {
        set_err(rc, REDIS_ERR_IO, "not connected to Redis");
        return -1;
    }
    /* A short command (most are) is built on the stack: hiredis's
     * formatting allocates for each. */
    if ((n = resp_format_short(buf, argc, argv, argvlen)) > 0) {
        if (redisAppendFormattedCommand(rc->c, buf, n) != REDIS_OK) {
            conn_failed(rc);
            return -1;
        }
        return 0;
    }
    if (redisAppendCommandArgv(rc->c, argc, argv, argvlen) != REDIS_OK) {
        conn_failed(rc);
        return -1;
    }
    return 0;
}

/* The largest output buffer kept between batches (a batch of 500
 * events with their lookups takes about 100 KiB). */
#define OBUF_KEEP_MAX (4u << 20)

/* Writes the commands hiredis has queued on rc. hiredis 0.14 frees its
 * output buffer after each complete write, so every pipelined batch grew
 * a new one from nothing by doubling: each step past 1 KiB a large
 * malloc, on which glibc consolidates its fast bins, full of the freed
 * reply objects (a tenth of the event path's CPU). Written here, the
 * buffer is cleared and keeps its room. A write that times out is an
 * error, as hiredis makes it on a blocking connection. */
static int write_queued(struct rconn *rc)
{
    redisContext *c = rc->c;
    size_t len = sdslen(c->obuf), off = 0;

    while (off < len) {
        ssize_t n = write(c->fd, c->obuf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno; /* conn_failed() reads it: a timeout? */
            c->err = REDIS_ERR_IO;
            snprintf(c->errstr, sizeof c->errstr, "%s", strerror(saved));
            errno = saved;
            conn_failed(rc);
            return -1;
        }
        off += (size_t)n;
    }
    if (sdsalloc(c->obuf) > OBUF_KEEP_MAX) {
        sdsfree(c->obuf);
        c->obuf = sdsempty();
    } else {
        sdsclear(c->obuf);
    }
    return c->obuf ? 0 : -1;
}

redisReply *rconn_reply(struct rconn *rc)
{
    void *r = NULL;

    if (!rc->c) {
        set_err(rc, REDIS_ERR_IO, "not connected to Redis");
        return NULL;
    }
    /* As redisGetReply(): a reply already read first, then the queued
     * commands go out (a caller may be queueing the next round). */
    if (redisGetReplyFromReader(rc->c, &r) != REDIS_OK) {
        conn_failed(rc);
        return NULL;
    }
    if (r)
        return r; /* it came with a read already noted */
    if (sdslen(rc->c->obuf) > 0 && write_queued(rc) < 0)
        return NULL;
    if (redisGetReply(rc->c, &r) != REDIS_OK || !r) {
        conn_failed(rc);
        return NULL;
    }
    /* Redis answered now: noted once a read, not once a reply (a batch
     * reads thousands, and the clock is read for each note) */
    note_reply();
    return r;
}

int rconn_send(struct rconn *rc)
{
    if (!rc->c) {
        set_err(rc, REDIS_ERR_IO, "not connected to Redis");
        return -1;
    }
    return write_queued(rc);
}

int rconn_discard(struct rconn *rc, int n)
{
    int errors = 0;

    for (int i = 0; i < n; i++) {
        redisReply *r = rconn_reply(rc);
        if (!r)
            return -1;
        if (r->type == REDIS_REPLY_ERROR) {
            log_warnx("Redis: %s", r->str);
            errors++;
        }
        reply_free(r);
    }
    return errors;
}

int rconn_exec_errors(struct rconn *rc, int n)
{
    int errors = rconn_discard(rc, n);
    redisReply *exec;

    if (errors < 0 || !(exec = rconn_reply(rc)))
        return -1;
    if (exec->type != REDIS_REPLY_ARRAY)
        errors++;
    for (size_t i = 0; exec->type == REDIS_REPLY_ARRAY && i < exec->elements;
         i++) {
        if (exec->element[i]->type == REDIS_REPLY_ERROR) {
            log_warnx("Redis: %s", exec->element[i]->str);
            errors++;
        }
    }
    reply_free(exec);
    return errors;
}

static int script_load(struct rconn *rc, struct rscript *s)
{
    redisReply *r = rconn_cmd(rc, "SCRIPT LOAD %s", s->source);

    if (!r)
        return -1;
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
        set_err(rc, REDIS_ERR_OTHER, "SCRIPT LOAD failed: %s",
                r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        reply_free(r);
        return -1;
    }
    memcpy(s->sha, r->str, 40);
    s->sha[40] = '\0';
    reply_free(r);
    s->sent_on = rc;
    s->sent_connect = rc->reconnects;
    return 0;
}

/* EVALSHA s with numkeys keys then args, sent now and its reply read
 * (append 0) or queued for the caller to read (append 1). */
static redisReply *evalsha(struct rconn *rc, struct rscript *s, int numkeys,
                           int argc, const char **argv, const size_t *argvlen,
                           int append, int *queued)
{
    const char *av[argc + 3];
    size_t al[argc + 3];
    char nk[16];
    /* queued on a connection that has not sent it: the source itself */
    int whole = append && (s->sent_on != rc ||
                           s->sent_connect != rc->reconnects);

    snprintf(nk, sizeof nk, "%d", numkeys);
    av[0] = whole ? "EVAL" : "EVALSHA";
    al[0] = strlen(av[0]);
    av[1] = whole ? s->source : s->sha;
    al[1] = whole ? strlen(s->source) : 40;
    if (whole) {
        s->sent_on = rc;
        s->sent_connect = rc->reconnects;
    }
    av[2] = nk;
    al[2] = strlen(nk);
    for (int i = 0; i < argc; i++) {
        av[i + 3] = argv[i];
        al[i + 3] = argvlen ? argvlen[i] : strlen(argv[i]);
    }
    if (append) {
        *queued = rconn_appendargv(rc, argc + 3, av, al);
        return NULL;
    }
    return rconn_cmdargv(rc, argc + 3, av, al);
}

/* The script's SHA1, as Redis names it: computed here, so that a new
 * handle's first call is one EVALSHA, not a SCRIPT LOAD round trip too. */
static void script_sha(struct rscript *s)
{
    unsigned char md[SHA_DIGEST_LENGTH];

    SHA1((const unsigned char *)s->source, strlen(s->source), md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
}

redisReply *rconn_script(struct rconn *rc, struct rscript *s, int numkeys,
                         int argc, const char **argv, const size_t *argvlen)
{
    redisReply *r;

    int unused;

    if (!s->sha[0])
        script_sha(s);
    r = evalsha(rc, s, numkeys, argc, argv, argvlen, 0, &unused);
    if (r && rconn_noscript(r)) {
        reply_free(r);
        if (script_load(rc, s) < 0)
            return NULL;
        r = evalsha(rc, s, numkeys, argc, argv, argvlen, 0, &unused);
    }
    return r;
}

int rconn_script_append(struct rconn *rc, struct rscript *s, int numkeys,
                        int argc, const char **argv, const size_t *argvlen)
{
    int queued = -1;

    if (!s->sha[0])
        script_sha(s);
    evalsha(rc, s, numkeys, argc, argv, argvlen, 1, &queued);
    return queued;
}

int rconn_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}
