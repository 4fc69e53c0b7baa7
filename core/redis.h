/*
 * redis.h - one connection to Redis over hiredis, that comes back by
 * itself: TCP or a unix socket, AUTH and SELECT on every (re)connect, and a
 * reconnect loop with capped exponential backoff and jitter that sleeps
 * while Redis is down (never a busy loop) and gives up only when asked to
 * stop. Each thread owns its own struct rconn.
 *
 * Every reply is awaited at most [redis] timeout (a frozen Redis, a port
 * that accepts and never answers): then the call fails like a lost
 * connection, which is dropped and made again with the backoff.
 * Calls that fail on the connection (I/O error, EOF, timeout) close it and return
 * NULL or -1 with rc->err and rc->errstr set; the next rconn_ensure()
 * reconnects. Replies are hiredis's objects, built by core/reply.c: the
 * caller frees them with reply_free().
 */
#ifndef NUDGE_REDIS_H
#define NUDGE_REDIS_H

#include <hiredis/hiredis.h>
#include <stdint.h>

#include "core/reply.h"

struct config;

struct rconn {
    redisContext *c; /* NULL while disconnected */
    char *address;   /* host:port or unix:/path */
    char *password;  /* NULL for no AUTH */
    int db;
    int64_t timeout_ms;     /* connecting */
    int64_t cmd_timeout_ms; /* a reply, at most ([redis] timeout); 0 none */
    volatile int *stop; /* set by a signal handler: give up reconnecting */

    int err;            /* non-zero after a failure */
    char errstr[256];   /* why, for a person; never holds the password */
    int attempt;        /* failed connects in a row, for the backoff */
    unsigned long reconnects; /* successful connects after the first */
    int ever_connected;
};

/* A Lua script run with EVALSHA, loaded again after NOSCRIPT (a Redis
 * restart or SCRIPT FLUSH). Declare one static per script (per thread:
 * the fields below are written on use). */
struct rscript {
    const char *source;
    char sha[41]; /* filled on first use */
    /* The connection (and its connect) that last sent the whole source,
     * which loads it in Redis: a pipeline's first call of it on a fresh
     * connection is an EVAL, so that no NOSCRIPT answers it out of
     * order with the commands queued around it. */
    const struct rconn *sent_on;
    unsigned long sent_connect;
};

/* Returns a new, not yet connected, handle; caller frees with
 * rconn_free(). stop may be NULL. */
struct rconn *rconn_new(const struct config *cfg, volatile int *stop);
/* The same, from explicit values (for tools and tests). */
struct rconn *rconn_new_addr(const char *address, const char *password,
                             int db, volatile int *stop);
void rconn_free(struct rconn *rc);

/* One connect attempt (AUTH, SELECT). Returns 0, or -1 with errstr. */
int rconn_connect(struct rconn *rc);
/* Connects if needed, retrying with backoff until it works or *stop is
 * set. Returns 0 when connected, -1 when stopped. */
int rconn_ensure(struct rconn *rc);
/* Drops the connection (after a protocol error, say). */
void rconn_close(struct rconn *rc);

/* A command and its reply, or NULL on a connection error. */
redisReply *rconn_cmd(struct rconn *rc, const char *fmt, ...);
redisReply *rconn_cmdargv(struct rconn *rc, int argc, const char **argv,
                          const size_t *argvlen);
/* Pipelining: queue commands, then read their replies in order. */
int rconn_append(struct rconn *rc, const char *fmt, ...);
int rconn_appendargv(struct rconn *rc, int argc, const char **argv,
                     const size_t *argvlen);
redisReply *rconn_reply(struct rconn *rc);
/* Writes the queued commands out now, without waiting for their replies,
 * so that Redis works on them while the caller prepares more. Returns 0,
 * or -1 on a connection error. */
int rconn_send(struct rconn *rc);
/* Reads and frees n pending replies; returns how many were errors, or -1
 * on a connection error. */
int rconn_discard(struct rconn *rc, int n);
/* Reads the replies of a MULTI block (n replies: MULTI's and each
 * command's QUEUED) and its EXEC: the errors among them (a command refused
 * at queueing, or failed inside EXEC), or -1 when the connection failed. */
int rconn_exec_errors(struct rconn *rc, int n);

/* rconn_cmd() for a command that blocks in Redis for up to block_ms
 * (XREADGROUP BLOCK): its reply is awaited that long plus the timeout. */
redisReply *rconn_cmd_blocking(struct rconn *rc, int64_t block_ms,
                               const char *fmt, ...);
/* The monotonic ms (clock_mono_ms()) of the latest reply any connection
 * of this process got from Redis, or of its latest connect; 0 before
 * any. /healthz says unhealthy when it is older than the timeout. */
int64_t rconn_last_reply_ms(void);
/* nudge_redis_reconnects_total: every connection of the process counts
 * each reconnect there, as it logs it. */
struct metric *rconn_reconnects_metric(void);

/* EVALSHA script with keys then args (argv holds numkeys keys followed by
 * the args); loads it on NOSCRIPT and tries again once. */
redisReply *rconn_script(struct rconn *rc, struct rscript *s, int numkeys,
                         int argc, const char **argv, const size_t *argvlen);
/* rconn_script() for a pipeline: queues the EVALSHA (0, or -1 on a
 * connection error). Its reply may be NOSCRIPT (rconn_noscript(): Redis
 * restarted, or never ran it): the caller then runs it with
 * rconn_script(), which loads it. */
int rconn_script_append(struct rconn *rc, struct rscript *s, int numkeys,
                        int argc, const char **argv, const size_t *argvlen);
/* 1 when r is Redis's NOSCRIPT error. */
int rconn_noscript(const redisReply *r);

#endif
