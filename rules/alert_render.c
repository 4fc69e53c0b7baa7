/*
 * alert_render.c - the text of a grouped alert (see alert_render.h).
 */
#include "rules/alert_render.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "templates/escape.h"

void alert_format_overdue(int64_t ms, char *buf, size_t n)
{
    int64_t s = ms > 0 ? ms / 1000 : 0;
    int64_t d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;

    if (d > 0)
        snprintf(buf, n, "%" PRId64 "d %" PRId64 "h", d, h);
    else if (h > 0)
        snprintf(buf, n, "%" PRId64 "h %" PRId64 "m", h, m);
    else if (m > 0)
        snprintf(buf, n, "%" PRId64 "m", m);
    else
        snprintf(buf, n, "%" PRId64 "s", s);
}

static void add_esc(struct tbuf *b, enum tmpl_esc esc, const char *s)
{
    tmpl_esc_append(b, esc, s, strlen(s));
}

/* The heading without its final line breaks (an email body keeps them),
 * then a blank line. */
static void add_heading(struct tbuf *b, enum tmpl_esc esc, const char *heading)
{
    size_t n = heading ? strlen(heading) : 0;

    while (n > 0 && (heading[n - 1] == '\n' || heading[n - 1] == '\r' ||
                     heading[n - 1] == ' '))
        n--;
    if (n == 0)
        return;
    tmpl_esc_append(b, esc, heading, n);
    tbuf_adds(b, "\n\n");
}

static void count_line(struct tbuf *b, size_t n, const char *bold)
{
    char line[96];

    snprintf(line, sizeof line, "%s%zu lead%s overdue%s, most overdue first:",
             bold, n, n == 1 ? "" : "s", bold);
    tbuf_adds(b, line);
}

static void and_more(struct tbuf *b, size_t more)
{
    char line[64];

    snprintf(line, sizeof line, "\n... and %zu more", more);
    tbuf_adds(b, line);
}

/* "stage · owner NAME · 5h 12m overdue", escaped for esc. */
static void row_facts(struct tbuf *b, enum tmpl_esc esc,
                      const struct alert_row *r)
{
    char overdue[32];

    alert_format_overdue(r->overdue_ms, overdue, sizeof overdue);
    if (r->stage[0]) {
        add_esc(b, esc, r->stage);
        tbuf_adds(b, " · ");
    }
    tbuf_adds(b, "owner ");
    add_esc(b, esc, r->owner);
    tbuf_adds(b, " · ");
    tbuf_adds(b, overdue);
    tbuf_adds(b, " overdue");
}

static void markdown_row(struct tbuf *b, size_t i, const struct alert_row *r)
{
    char num[24];

    snprintf(num, sizeof num, "\n%zu. ", i + 1);
    tbuf_adds(b, num);
    if (r->link) {
        tbuf_addc(b, '[');
        add_esc(b, ESC_MARKDOWN, r->name);
        tbuf_adds(b, "](");
        tbuf_adds(b, r->link);
        tbuf_addc(b, ')');
    } else {
        add_esc(b, ESC_MARKDOWN, r->name);
    }
    tbuf_adds(b, " · ");
    row_facts(b, ESC_MARKDOWN, r);
}

size_t alert_render_markdown(struct tbuf *b, const char *heading,
                             int heading_markdown, const struct alert_row *rows,
                             size_t n, size_t max)
{
    struct tbuf row = {0};
    size_t i, shown = 0;
    /* room kept for the "and N more" line */
    const size_t tail = 32;

    add_heading(b, heading_markdown ? ESC_PLAIN : ESC_MARKDOWN, heading);
    count_line(b, n, "**");
    for (i = 0; i < n; i++) {
        row.len = 0;
        markdown_row(&row, i, &rows[i]);
        if (b->len + row.len + (i + 1 < n ? tail : 0) > max)
            break;
        tbuf_add(b, row.p, row.len);
        shown++;
    }
    if (shown < n)
        and_more(b, n - shown);
    tbuf_free(&row);
    return shown;
}

size_t alert_render_text(struct tbuf *b, const char *heading,
                         const struct alert_row *rows, size_t n,
                         size_t max_rows)
{
    size_t i, shown = n < max_rows ? n : max_rows;
    char num[24];

    add_heading(b, ESC_PLAIN, heading);
    count_line(b, n, "");
    for (i = 0; i < shown; i++) {
        snprintf(num, sizeof num, "\n%zu. ", i + 1);
        tbuf_adds(b, num);
        tbuf_adds(b, rows[i].name);
        tbuf_adds(b, " · ");
        row_facts(b, ESC_PLAIN, &rows[i]);
        if (rows[i].link) {
            tbuf_adds(b, " · ");
            tbuf_adds(b, rows[i].link);
        }
    }
    if (shown < n)
        and_more(b, n - shown);
    return shown;
}

static void cell(struct tbuf *b, const char *text)
{
    tbuf_adds(b, "<td>");
    add_esc(b, ESC_HTML, text);
    tbuf_adds(b, "</td>");
}

void alert_render_html(struct tbuf *b, const char *heading_html,
                       const char *heading_text, const struct alert_row *rows,
                       size_t n, size_t max_rows)
{
    size_t i, shown = n < max_rows ? n : max_rows;
    char num[48], overdue[32];

    if (heading_html) {
        tbuf_adds(b, heading_html);
    } else if (heading_text && heading_text[0]) {
        tbuf_adds(b, "<p>");
        add_esc(b, ESC_HTML, heading_text);
        tbuf_adds(b, "</p>");
    }
    tbuf_adds(b, "\n<p>");
    count_line(b, n, "");
    tbuf_adds(b, "</p>\n<table border=\"1\" cellpadding=\"4\" "
                 "style=\"border-collapse:collapse\">\n<tr><th>#</th>"
                 "<th>Lead</th><th>Stage</th><th>Owner</th>"
                 "<th>Overdue</th></tr>\n");
    for (i = 0; i < shown; i++) {
        const struct alert_row *r = &rows[i];
        snprintf(num, sizeof num, "<tr><td>%zu</td><td>", i + 1);
        tbuf_adds(b, num);
        if (r->link) {
            tbuf_adds(b, "<a href=\"");
            add_esc(b, ESC_HTML, r->link);
            tbuf_adds(b, "\">");
        }
        add_esc(b, ESC_HTML, r->name);
        tbuf_adds(b, r->link ? "</a></td>" : "</td>");
        cell(b, r->stage);
        cell(b, r->owner);
        alert_format_overdue(r->overdue_ms, overdue, sizeof overdue);
        cell(b, overdue);
        tbuf_adds(b, "</tr>\n");
    }
    tbuf_adds(b, "</table>\n");
    if (shown < n) {
        tbuf_adds(b, "<p>");
        and_more(b, n - shown);
        tbuf_adds(b, "</p>\n");
    }
}
