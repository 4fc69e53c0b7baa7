/*
 * mime.h - the email part of a template becomes a whole RFC 5322 message:
 * Date, From, To, Subject (RFC 2047 encoded words when not plain ASCII),
 * Message-ID, MIME-Version, List-Unsubscribe and List-Unsubscribe-Post
 * (RFC 8058 one-click), and UTF-8 bodies in quoted-printable (mostly
 * ASCII text) or base64 (mostly not), as multipart/alternative when there
 * is an HTML part. Lines end with CRLF; no line is longer than 78
 * characters except a long address or link.
 */
#ifndef NUDGE_TMPL_MIME_H
#define NUDGE_TMPL_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "templates/buf.h"

struct mime_email {
    const char *from;    /* "招生办 <admissions@example.edu>" or an address */
    const char *to;      /* the address */
    const char *to_name; /* a display name, or NULL */
    const char *subject; /* UTF-8, one line */
    const char *text;    /* the text body, UTF-8, LF or CRLF line breaks */
    const char *html;    /* the HTML body, or NULL */
    const char *unsubscribe; /* the one-click link, or NULL */
    const char *key;   /* same key, same Message-ID (a retried send); NULL:
                          a random one */
    int64_t now_ms;    /* the Date */
};

/* Appends the message to b. scratch is a buffer the caller keeps between
 * calls (for escaping display names and converting line breaks); both
 * are reused, not freed. Display names lose their control characters
 * (C0, DEL, C1) as the Subject does. */
void tmpl_mime_build(struct tbuf *b, struct tbuf *scratch,
                const struct mime_email *e);

/* --- the pieces, for tests ----------------------------------------------- */
/* "Name: value" folded, as encoded words when value is not printable
 * ASCII (or holds "=?"), then CRLF. value must hold no line break. */
void tmpl_mime_header_text(struct tbuf *b, const char *name, const char *value);
/* The body in base64, 64-character lines. */
void tmpl_mime_base64(struct tbuf *b, const unsigned char *in, size_t n);
/* The body in quoted-printable; LF and CRLF become CRLF hard breaks. */
void tmpl_mime_qp(struct tbuf *b, const unsigned char *in, size_t n);

#endif
