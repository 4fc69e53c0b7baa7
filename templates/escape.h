/*
 * escape.h - writing a value where it goes. Every value a template
 * inserts passes through tmpl_esc_append() with the escaping of its
 * destination, so student data can never become markup, a header line or
 * template text (values are written to the output, never compiled).
 *
 * Common to all modes: invalid UTF-8 is replaced by U+FFFD, one per bad
 * byte; CR LF and lone CR become LF; other control characters (C0 except
 * TAB and LF, and DEL) are dropped. In ESC_HEADER every control character,
 * LF and TAB included, and the C1 controls (U+0080..U+009F) become a space:
 * nothing can end a header line, even once a mail program has decoded it
 * from RFC 2047 (the Subject, and the display names of mime.c).
 */
#ifndef NUDGE_TMPL_ESCAPE_H
#define NUDGE_TMPL_ESCAPE_H

#include <stddef.h>

#include "templates/buf.h"

enum tmpl_esc {
    ESC_PLAIN,    /* SMS, WeCom text, email text part */
    ESC_HEADER,   /* an email header (the subject), before RFC 2047 */
    ESC_HTML,     /* & < > " ' as entities */
    ESC_MARKDOWN, /* WeCom markdown: a backslash before markup characters */
    ESC_JSON,     /* inside a JSON string: \" \\ \n \u00XX */
    ESC_COUNT
};

/* Appends the n bytes of v to b, escaped for esc. */
void tmpl_esc_append(struct tbuf *b, enum tmpl_esc esc, const char *v, size_t n);

#endif
