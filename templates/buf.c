/*
 * buf.c - the renderer's growable buffer (see buf.h).
 */
#include "templates/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int tbuf_grow(struct tbuf *b, size_t need)
{
    size_t ncap = b->cap ? b->cap : 256;
    char *np;

    if (b->oom)
        return -1;
    while (ncap - b->len < need) {
        if (ncap > ((size_t)-1) / 2) {
            b->oom = 1;
            return -1;
        }
        ncap *= 2;
    }
    if (!(np = realloc(b->p, ncap))) {
        b->oom = 1;
        return -1;
    }
    b->p = np;
    b->cap = ncap;
    return 0;
}

void tbuf_terminate(struct tbuf *b)
{
    if (tbuf_reserve(b, 1) == 0)
        b->p[b->len] = '\0';
}

void tbuf_printf(struct tbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0,
                  fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        if (tbuf_reserve(b, (size_t)n + 1) < 0)
            return;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void tbuf_free(struct tbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
