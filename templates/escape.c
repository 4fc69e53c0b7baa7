/*
 * escape.c - per-destination escaping of values (see escape.h).
 *
 * One loop serves every mode: a table per mode marks the ASCII bytes that
 * are copied as they are; runs of those are copied with one memcpy, and
 * the rest (markup, controls, non-ASCII) go through the mode's handler.
 */
#include "templates/escape.h"

#include <pthread.h>
#include <stdint.h>

#include "templates/utf8.h"

/* U+0080..U+009F, the C1 controls (NEL among them): a header holds none. */
static int is_c1(uint32_t cp)
{
    return cp >= 0x80 && cp <= 0x9f;
}

/* The same on the encoded sequence at u: C2 80 to C2 9F. */
static int is_c1_seq(const unsigned char *u)
{
    return u[0] == 0xc2 && u[1] < 0xa0;
}

/* safe[esc][byte]: 1 when the byte is copied unchanged. */
static unsigned char safe[ESC_COUNT][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static const char *const specials[ESC_COUNT] = {
    [ESC_PLAIN] = "",
    [ESC_HEADER] = "",
    [ESC_HTML] = "&<>\"'",
    [ESC_MARKDOWN] = "\\`*_[]()#<>~|!",
    [ESC_JSON] = "\"\\",
};

static void build_tables(void)
{
    for (int e = 0; e < ESC_COUNT; e++) {
        for (int c = 0x20; c < 0x7f; c++)
            safe[e][c] = 1;
        for (const char *s = specials[e]; *s; s++)
            safe[e][(unsigned char)*s] = 0;
    }
    safe[ESC_PLAIN]['\n'] = safe[ESC_PLAIN]['\t'] = 1;
    safe[ESC_HTML]['\n'] = safe[ESC_HTML]['\t'] = 1;
    safe[ESC_MARKDOWN]['\n'] = safe[ESC_MARKDOWN]['\t'] = 1;
}

/* What an ASCII control byte becomes: a string, or NULL to drop it. */
static const char *control(enum tmpl_esc esc, unsigned char c)
{
    if (esc == ESC_HEADER)
        return " ";
    if (c == '\r')
        return esc == ESC_JSON ? "\\n" : "\n";
    if (esc != ESC_JSON)
        return NULL;
    switch (c) {
    case '\n':
        return "\\n";
    case '\t':
        return "\\t";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    default:
        return NULL; /* written as \u00XX by the caller */
    }
}

static void json_control(struct tbuf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

    tbuf_add(b, u, sizeof u);
}

static void special_ascii(struct tbuf *b, enum tmpl_esc esc, unsigned char c)
{
    const char *s;

    if (c < 0x20 || c == 0x7f) {
        if ((s = control(esc, c)))
            tbuf_adds(b, s);
        else if (esc == ESC_JSON)
            json_control(b, c);
        return;
    }
    if (esc == ESC_HTML) {
        switch (c) {
        case '&': tbuf_add(b, "&amp;", 5); return;
        case '<': tbuf_add(b, "&lt;", 4); return;
        case '>': tbuf_add(b, "&gt;", 4); return;
        case '"': tbuf_add(b, "&quot;", 6); return;
        default: tbuf_add(b, "&#39;", 5); return;
        }
    }
    tbuf_addc(b, '\\'); /* markdown and JSON: a backslash before it */
    tbuf_addc(b, (char)c);
}

void tmpl_esc_append(struct tbuf *b, enum tmpl_esc esc, const char *v, size_t n)
{
    const unsigned char *u = (const unsigned char *)v, *end = u + n;
    const unsigned char *tab;
    uint32_t cp;

    pthread_once(&tables_once, build_tables);
    tab = safe[esc];
    while (u < end) {
        const unsigned char *run = u;
        size_t len;
        /* A run of bytes copied as they are: safe ASCII and well-formed
         * UTF-8 sequences (Chinese values are runs of 3-byte ones). */
        while (u < end) {
            if (*u < 0x80) {
                if (!tab[*u])
                    break;
                u++;
            } else if ((len = tmpl_utf8_valid_len(u, (size_t)(end - u))) &&
                       !(esc == ESC_HEADER && is_c1_seq(u))) {
                u += len;
            } else {
                break;
            }
        }
        if (u > run)
            tbuf_add(b, run, (size_t)(u - run));
        if (u == end)
            break;
        if (*u < 0x80) {
            /* CR LF is one line break: drop the CR, keep the LF. */
            if (*u == '\r' && u + 1 < end && u[1] == '\n' && esc != ESC_HEADER)
                u++;
            else
                special_ascii(b, esc, *u++);
            continue;
        }
        if (esc == ESC_HEADER &&
            (len = tmpl_utf8_decode(u, (size_t)(end - u), &cp)) &&
            is_c1(cp)) {
            tbuf_addc(b, ' '); /* a C1 control, as C0 ones */
            u += len;
            continue;
        }
        tbuf_add(b, UTF8_REPLACEMENT, 3); /* not well-formed */
        u++;
    }
}
