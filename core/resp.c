/*
 * resp.c - RESP command building (see resp.h).
 */
#include "core/resp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Writes "<c><n>\r\n" (the array and bulk headers). */
static void header(struct resp *r, char c, unsigned long long n)
{
    char digits[24];
    int i = (int)sizeof digits;

    do {
        digits[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    if (reserve(r, 1 + sizeof digits - (size_t)i + 2) < 0)
        return;
    r->buf[r->len++] = c;
    memcpy(r->buf + r->len, digits + i, sizeof digits - (size_t)i);
    r->len += sizeof digits - (size_t)i;
    r->buf[r->len++] = '\r';
    r->buf[r->len++] = '\n';
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
    header(r, '*', (unsigned long long)argc);
}

void resp_arg(struct resp *r, const char *s, size_t len)
{
    header(r, '$', len);
    if (reserve(r, len + 2) < 0)
        return;
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
    int n = snprintf(num, sizeof num, "%lld", v);

    resp_arg(r, num, (size_t)n);
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
