/*
 * buf.h - the growable byte buffer the template renderer writes into. A
 * renderer keeps one and reuses it, so a warm render allocates nothing.
 *
 * Ownership: the buffer owns p; tbuf_free() frees it. An allocation
 * failure sets oom and drops later writes, so callers check once at the
 * end instead of after every append. Pointers into p are invalidated by
 * any append: keep offsets while writing.
 */
#ifndef NUDGE_TMPL_BUF_H
#define NUDGE_TMPL_BUF_H

#include <stddef.h>
#include <string.h>

struct tbuf {
    char *p;
    size_t len, cap;
    int oom;
};

/* Grows the buffer to hold need more bytes; 0, or -1 (and oom set). */
int tbuf_grow(struct tbuf *b, size_t need);
/* Appends a NUL that is not counted in len, making p a C string. */
void tbuf_terminate(struct tbuf *b);
void tbuf_free(struct tbuf *b);

static inline int tbuf_reserve(struct tbuf *b, size_t n)
{
    return b->cap - b->len >= n ? 0 : tbuf_grow(b, n);
}

static inline void tbuf_add(struct tbuf *b, const void *s, size_t n)
{
    if (n == 0 || tbuf_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static inline void tbuf_addc(struct tbuf *b, char c)
{
    if (tbuf_reserve(b, 1) < 0)
        return;
    b->p[b->len++] = c;
}

static inline void tbuf_adds(struct tbuf *b, const char *s)
{
    tbuf_add(b, s, strlen(s));
}

#endif
