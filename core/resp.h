/*
 * resp.h - builds Redis commands in the wire format (RESP) into a reusable
 * buffer, for the hot paths that queue thousands of commands a second
 * (timeline writes, acknowledgements): hiredis's own formatting allocates
 * and goes through printf for every argument, which costs more than Redis
 * spends running the command.
 *
 *   struct resp r = {0};
 *   resp_begin(&r, 2); resp_arg(&r, "EXISTS", 6); resp_str(&r, key);
 *   rconn_append_resp(rc, &r);   // then read the reply as usual
 *   resp_free(&r);
 *
 * One buffer may hold several commands (each resp_begin() adds one).
 * Allocation failures are sticky: r->failed is set and nothing is sent.
 */
#ifndef NUDGE_RESP_H
#define NUDGE_RESP_H

#include <stddef.h>

#include "core/redis.h"

struct resp {
    char *buf;
    size_t len, cap;
    int failed;
};

/* Empties the buffer, keeping its memory. */
void resp_reset(struct resp *r);
void resp_free(struct resp *r);
/* Starts a command of argc arguments. */
void resp_begin(struct resp *r, int argc);
void resp_arg(struct resp *r, const char *s, size_t len);
void resp_str(struct resp *r, const char *s);
void resp_long(struct resp *r, long long v);

/* Queues everything in r on rc's pipeline, then resets r. Returns 0, or
 * -1 (nothing queued). */
int rconn_append_resp(struct rconn *rc, struct resp *r);

/* Writes the command of argc arguments (argvlen NULL: C strings) into
 * buf, for a caller that builds it on the stack; returns its length, or 0
 * when it has more than RESP_SHORT_ARGS arguments or does not fit. */
#define RESP_SHORT_ARGS 16
#define RESP_SHORT_MAX 1024
size_t resp_format_short(char buf[RESP_SHORT_MAX], int argc,
                         const char **argv, const size_t *argvlen);

#endif
