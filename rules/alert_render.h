/*
 * alert_render.h - the text of a grouped alert (rules/alert.h): the
 * heading its template rendered, then how many leads are overdue and one
 * row per lead (name with its CRM link, stage, owner, how long overdue),
 * most overdue first. WeCom gets markdown cut to WeCom's 4096-byte limit
 * ("... and N more"), email a text part and an HTML table, everything
 * else (sms, an outbox, a webhook) plain text.
 *
 * Pure functions over a struct tbuf (templates/buf.h): the caller owns
 * the buffer and frees it with tbuf_free().
 */
#ifndef NUDGE_RULES_ALERT_RENDER_H
#define NUDGE_RULES_ALERT_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "templates/buf.h"

/* WeCom's limit on a markdown message's content, in bytes. */
#define ALERT_WECOM_MAX 4096
/* Rows of a plain-text alert (an SMS is no place for a long list). */
#define ALERT_TEXT_ROWS 20
/* Rows of an email's table and text part. */
#define ALERT_EMAIL_ROWS 500

/* One lead of an alert; the strings are the caller's. */
struct alert_row {
    const char *name;  /* the student's name (or id) */
    const char *stage; /* "" when unknown */
    const char *owner; /* the owner's name, or their staff id */
    int64_t overdue_ms;
    const char *link; /* the CRM link, or NULL */
};

/* "2d 3h", "5h 12m", "42m", "10s". */
void alert_format_overdue(int64_t ms, char *buf, size_t n);

/* WeCom markdown: heading (already markdown when heading_markdown, else
 * escaped here), the count, the rows; whole rows only, and "and N more"
 * once the next would pass max bytes. Returns the rows shown. */
size_t alert_render_markdown(struct tbuf *b, const char *heading,
                             int heading_markdown, const struct alert_row *rows,
                             size_t n, size_t max);
/* Plain text: heading, the count, at most max_rows rows, "and N more". */
size_t alert_render_text(struct tbuf *b, const char *heading,
                         const struct alert_row *rows, size_t n,
                         size_t max_rows);
/* An email's HTML: the heading's HTML (or the text heading, escaped), the
 * count and a table of at most max_rows rows. */
void alert_render_html(struct tbuf *b, const char *heading_html,
                       const char *heading_text, const struct alert_row *rows,
                       size_t n, size_t max_rows);

#endif
