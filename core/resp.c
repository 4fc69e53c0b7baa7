/*
 * resp.c - RESP command building (see resp.h).
 */
#include "core/resp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/join.h"

static int reserve(struct resp *r, size_t more)
{
    size_t cap;
    char *nb;

    if (r->failed)
        return -1;
    if (r->len + more <= r->cap)
        return 0;
    cap = r->cap ? r->cap * 2 : 4096;
    while (cap < r->len + more)
        cap *= 2;
    if (!(nb = realloc(r->buf, cap))) {
        r->failed = 1;
        return -1;
    }
    r->buf = nb;
    r->cap = cap;
    return 0;
}

/* Writes "<c><n>\r\n" (an array or bulk header) at p, which has room
 * for HEADER_MAX bytes; returns its length. Most are one or two digits. */
#define HEADER_MAX 32
static size_t put_header(char *p, char c, size_t n)
{
    size_t len = 1;

    p[0] = c;
    if (n < 10) {
        p[1] = (char)('0' + n);
    } else if (n < 100) {
        p[1] = (char)('0' + n / 10);
        p[2] = (char)('0' + n % 10);
        len = 2;
    } else {
        len = join_long(p + 1, (long long)n);
    }
    p[len + 1] = '\r';
    p[len + 2] = '\n';
    return len + 3;
}

void resp_reset(struct resp *r)
{
    r->len = 0;
    r->failed = 0;
}

void resp_free(struct resp *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}

void resp_begin(struct resp *r, int argc)
{
    if (reserve(r, HEADER_MAX) == 0)
        r->len += put_header(r->buf + r->len, '*', (size_t)argc);
}

void resp_arg(struct resp *r, const char *s, size_t len)
{
    if (reserve(r, HEADER_MAX + len + 2) < 0)
        return;
    r->len += put_header(r->buf + r->len, '$', len);
    memcpy(r->buf + r->len, s, len);
    r->len += len;
    r->buf[r->len++] = '\r';
    r->buf[r->len++] = '\n';
}

void resp_str(struct resp *r, const char *s)
{
    resp_arg(r, s, strlen(s));
}

void resp_long(struct resp *r, long long v)
{
    char num[24];

    resp_arg(r, num, join_long(num, v));
}

int rconn_append_resp(struct rconn *rc, struct resp *r)
{
    int ret = -1;

    if (r->failed)
        snprintf(rc->errstr, sizeof rc->errstr, "out of memory");
    else if (!rc->c)
        snprintf(rc->errstr, sizeof rc->errstr, "not connected to Redis");
    else if (redisAppendFormattedCommand(rc->c, r->buf, r->len) == REDIS_OK)
        ret = 0;
    resp_reset(r);
    return ret;
}

size_t resp_format_short(char buf[RESP_SHORT_MAX], int argc,
                         const char **argv, const size_t *argvlen)
{
    size_t len[RESP_SHORT_ARGS], need = HEADER_MAX, n;

    if (argc > RESP_SHORT_ARGS)
        return 0;
    for (int i = 0; i < argc; i++) {
        len[i] = argvlen ? argvlen[i] : strlen(argv[i]);
        need += HEADER_MAX + len[i] + 2;
    }
    if (need > RESP_SHORT_MAX)
        return 0;
    n = put_header(buf, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        n += put_header(buf + n, '$', len[i]);
        memcpy(buf + n, argv[i], len[i]);
        n += len[i];
        buf[n++] = '\r';
        buf[n++] = '\n';
    }
    return n;
}
