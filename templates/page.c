/*
 * page.c - one self-contained HTML page of sections, tables and inline
 * SVG bar charts (see page.h). Every caller's text is written through
 * tmpl_esc_append(ESC_HTML); only this file's own constant markup is
 * written raw.
 */
#include "templates/page.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "templates/escape.h"

/* System fonts only (nothing to fetch); one column, as wide as the
 * screen up to a desktop's reading width; tables scroll inside their box
 * rather than widen the page; a phone gets slimmer margins. */
static const char css[] =
    "*{box-sizing:border-box}"
    "body{margin:0 auto;max-width:1100px;padding:10px;background:#f4f5f7;"
    "color:#1d2330;font:15px/1.45 system-ui,-apple-system,\"Segoe UI\","
    "Roboto,\"Noto Sans\",\"PingFang SC\",\"Microsoft YaHei\",sans-serif}"
    "h1{font-size:1.35em;margin:.3em 0}"
    "h2{font-size:1.1em;margin:0 0 .5em}"
    "main{display:grid;grid-template-columns:minmax(0,1fr);gap:12px}"
    "@media (max-width:600px){body{padding:6px}section{padding:10px}}"
    "section{background:#fff;border:1px solid #d8dbe2;border-radius:8px;"
    "padding:12px;min-width:0}"
    ".sub,.note{color:#5b6475;font-size:.9em}"
    ".warn{color:#a33}"
    "code{font-family:ui-monospace,monospace;font-size:.92em;"
    "background:#f0f2f5;padding:0 .2em;border-radius:3px}"
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}"
    "table{border-collapse:collapse;width:100%;font-size:.92em}"
    "th,td{padding:5px 8px;border-bottom:1px solid #eceef2;"
    "text-align:left;white-space:nowrap}"
    "th{background:#f0f2f5;font-weight:600}"
    "dl.figs{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 .6em}"
    "dl.figs div{border:1px solid #e2e5eb;border-radius:6px;"
    "padding:6px 10px;min-width:7em}"
    "dl.figs dt{font-size:.8em;color:#5b6475}"
    "dl.figs dd{margin:0;font-size:1.2em;font-weight:600}"
    "figure{margin:.4em 0 .8em}"
    "figcaption{font-size:.85em;color:#5b6475}"
    "svg.bars{width:100%;max-width:440px;height:auto;display:block}"
    "svg.bars text{font:13px system-ui,sans-serif;fill:#1d2330}"
    "svg.bars rect{fill:#3d6fd6}"
    "svg.bars line{stroke:#1d2330;stroke-width:1.5}"
    "h3{font-size:1em;margin:.8em 0 .3em}";

/* Caller's text, escaped for HTML (element content and attribute values
 * alike: the escaping covers both quotes). */
static void text(struct page *p, const char *s)
{
    if (s)
        tmpl_esc_append(&p->b, ESC_HTML, s, strlen(s));
}

static void raw(struct page *p, const char *s)
{
    tbuf_adds(&p->b, s);
}

static void rawf(struct page *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void rawf(struct page *p, const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    raw(p, buf);
}

void page_begin(struct page *p, const char *title, const char *subtitle)
{
    memset(p, 0, sizeof *p);
    raw(p, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, "
           "initial-scale=1\">\n<meta name=\"referrer\" "
           "content=\"no-referrer\">\n"
           /* the same rules as nudged's header, for a copy opened as a
            * file: nothing in it may run or fetch anything */
           "<meta http-equiv=\"Content-Security-Policy\" "
           "content=\"default-src 'none'; style-src 'unsafe-inline'; "
           "img-src data:\">\n<title>");
    text(p, title);
    raw(p, "</title>\n<style>");
    raw(p, css);
    raw(p, "</style>\n</head>\n<body>\n<header><h1>");
    text(p, title);
    raw(p, "</h1>");
    if (subtitle) {
        raw(p, "<div class=\"sub\">");
        text(p, subtitle);
        raw(p, "</div>");
    }
    raw(p, "</header>\n<main>\n");
}

static void close_section(struct page *p)
{
    if (p->in_table)
        page_table_end(p);
    if (p->in_figures)
        page_figures_end(p);
    if (p->in_section)
        raw(p, "</section>\n");
    p->in_section = 0;
}

void page_section(struct page *p, const char *id, const char *title)
{
    close_section(p);
    raw(p, "<section id=\"");
    text(p, id);
    raw(p, "\"><h2>");
    text(p, title);
    raw(p, "</h2>\n");
    p->in_section = 1;
}

void page_heading(struct page *p, const char *title)
{
    if (p->in_table)
        page_table_end(p);
    if (p->in_figures)
        page_figures_end(p);
    raw(p, "<h3>");
    text(p, title);
    raw(p, "</h3>\n");
}

void page_para(struct page *p, const char *cls, const char *s)
{
    int code = 0;

    if (cls) {
        raw(p, "<p class=\"");
        text(p, cls);
        raw(p, "\">");
    } else
        raw(p, "<p>");
    for (const char *tick; s && (tick = strchr(s, '`')); s = tick + 1) {
        tmpl_esc_append(&p->b, ESC_HTML, s, (size_t)(tick - s));
        raw(p, code ? "</code>" : "<code>");
        code = !code;
    }
    text(p, s);
    raw(p, code ? "</code></p>\n" : "</p>\n");
}

void page_figures_begin(struct page *p)
{
    raw(p, "<dl class=\"figs\">");
    p->in_figures = 1;
}

void page_figure(struct page *p, const char *name, const char *value)
{
    raw(p, "<div><dt>");
    text(p, name);
    raw(p, "</dt><dd>");
    text(p, value);
    raw(p, "</dd></div>");
}

void page_figures_end(struct page *p)
{
    raw(p, "</dl>\n");
    p->in_figures = 0;
}

/* n cells, each escaped: <th> in a header row, else <td>. */
static void cells_of(struct page *p, int header, const char *const *cells,
                     size_t n)
{
    for (size_t i = 0; i < n; i++) {
        raw(p, header ? "<th>" : "<td>");
        text(p, cells[i]);
        raw(p, header ? "</th>" : "</td>");
    }
}

void page_table_begin(struct page *p, const char *const *headers, size_t n)
{
    raw(p, "<div class=\"scroll\"><table><thead><tr>");
    cells_of(p, 1, headers, n);
    raw(p, "</tr></thead><tbody>\n");
    p->in_table = 1;
}

void page_table_row(struct page *p, const char *const *cells, size_t n)
{
    raw(p, "<tr>");
    cells_of(p, 0, cells, n);
    raw(p, "</tr>\n");
}

void page_table_end(struct page *p)
{
    raw(p, "</tbody></table></div>\n");
    p->in_table = 0;
}

/* --- bar charts ------------------------------------------------------- */

/* Sized for a phone: drawn about 1:1 in a 360px wide section. */
#define LABEL_COLS 17 /* a label's width, in columns (CJK counts 2) */
#define BAR_X 132     /* where the bars start */
#define ROW_H 24
#define BAR_H 16
#define CHART_W (BAR_X + PAGE_BAR_MAX + 76) /* room for the value */

/* The bytes of s that fit in cols columns, UTF-8 aware: *cut is set when
 * some did not fit. */
static size_t fit_cols(const char *s, int cols, int *cut)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    int used = 0;

    *cut = 0;
    while (u[i]) {
        size_t len = u[i] < 0x80 ? 1 : u[i] < 0xe0 ? 2 : u[i] < 0xf0 ? 3 : 4;
        int w = len >= 3 ? 2 : 1; /* CJK and wider, near enough */
        for (size_t k = 1; k < len; k++)
            if (!u[i + k])
                len = k;
        if (used + w > cols - 1 && u[i + len]) { /* keep one for "…" */
            *cut = 1;
            return i;
        }
        used += w;
        i += len;
    }
    return i;
}

static void label(struct page *p, const char *s)
{
    int cut;
    size_t n = fit_cols(s ? s : "", LABEL_COLS, &cut);

    tmpl_esc_append(&p->b, ESC_HTML, s ? s : "", n);
    if (cut)
        raw(p, "\xe2\x80\xa6"); /* … */
}

/* "12", "12.5", "0.083": whole numbers without a point. */
static void number(char *buf, size_t n, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.4g", v);
}

static double bar_value(double v)
{
    return isfinite(v) && v > 0 ? v : 0;
}

/* The range of bar i, or NULL when it has none. */
static const struct page_range *range_of(const struct page_range *ranges,
                                         size_t i)
{
    return ranges && ranges[i].lo <= ranges[i].hi ? &ranges[i] : NULL;
}

/* The largest end of a bar: its value, or its whisker's top. */
static double bar_top(const struct page_bar *b, const struct page_range *r)
{
    double v = bar_value(b->value);

    return r && bar_value(r->hi) > v ? bar_value(r->hi) : v;
}

/* x of value v (from BAR_X) on a chart whose longest bar is max. */
static long scaled(double v, double max)
{
    return max > 0 ? lround(bar_value(v) / max * PAGE_BAR_MAX) : 0;
}

/* The whisker of a bar at y: from lo to hi, a tick at each end. Returns
 * its right end (from BAR_X). */
static long whisker(struct page *p, const struct page_range *r, size_t y,
                    double max)
{
    long lo = scaled(r->lo, max), hi = scaled(r->hi, max);
    size_t mid = y + BAR_H / 2;

    rawf(p,
         "<line class=\"whisker\" x1=\"%ld\" y1=\"%zu\" x2=\"%ld\" "
         "y2=\"%zu\"/><line x1=\"%ld\" y1=\"%zu\" x2=\"%ld\" "
         "y2=\"%zu\"/><line x1=\"%ld\" y1=\"%zu\" x2=\"%ld\" "
         "y2=\"%zu\"/>",
         BAR_X + lo, mid, BAR_X + hi, mid, BAR_X + lo, y + 3, BAR_X + lo,
         y + BAR_H - 3, BAR_X + hi, y + 3, BAR_X + hi, y + BAR_H - 3);
    return hi;
}

void page_bar_chart(struct page *p, const char *caption,
                    const struct page_bar *bars, size_t n, const char *unit)
{
    page_bar_chart_ranges(p, caption, bars, NULL, n, unit);
}

void page_bar_chart_ranges(struct page *p, const char *caption,
                           const struct page_bar *bars,
                           const struct page_range *ranges, size_t n,
                           const char *unit)
{
    double max = 0;
    char num[64];

    if (n == 0) {
        page_para(p, "note", "Nothing to draw yet.");
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (bar_top(&bars[i], range_of(ranges, i)) > max)
            max = bar_top(&bars[i], range_of(ranges, i));
    raw(p, "<figure><figcaption>");
    text(p, caption);
    raw(p, "</figcaption>\n");
    /* Inline SVG in HTML needs no xmlns: the page names no address. */
    rawf(p,
         "<svg class=\"bars\" viewBox=\"0 0 %d %zu\" role=\"img\" "
         "aria-label=\"",
         CHART_W, n * ROW_H + 4);
    text(p, caption);
    raw(p, "\"><title>");
    text(p, caption);
    raw(p, "</title>\n");
    for (size_t i = 0; i < n; i++) {
        const struct page_range *r = range_of(ranges, i);
        double v = bar_value(bars[i].value);
        long w = scaled(v, max), end = w;
        size_t y = i * ROW_H + 2;
        rawf(p, "<text x=\"0\" y=\"%zu\">", y + 13);
        label(p, bars[i].label);
        rawf(p,
             "</text><rect x=\"%d\" y=\"%zu\" width=\"%ld\" "
             "height=\"%d\" rx=\"2\"/>",
             BAR_X, y, w, BAR_H);
        if (r) {
            long top = whisker(p, r, y, max);
            end = top > w ? top : w;
        }
        number(num, sizeof num, v);
        rawf(p, "<text x=\"%ld\" y=\"%zu\">%s", BAR_X + end + 5, y + 13, num);
        text(p, unit);
        raw(p, "</text>\n");
    }
    raw(p, "</svg></figure>\n");
}

char *page_end(struct page *p)
{
    char *s;

    close_section(p);
    raw(p, "</main>\n</body></html>\n");
    tbuf_terminate(&p->b);
    if (p->b.oom) {
        page_free(p);
        return NULL;
    }
    s = p->b.p;
    memset(p, 0, sizeof *p);
    return s;
}

void page_free(struct page *p)
{
    tbuf_free(&p->b);
    memset(p, 0, sizeof *p);
}
