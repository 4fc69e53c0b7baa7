/*
 * buf.c - the renderer's growable buffer (see buf.h).
 */
#include "templates/buf.h"

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

void tbuf_free(struct tbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
