/*
 * page.h - building one self-contained HTML page: a title, sections of
 * figures, tables and bar charts drawn as inline SVG, with its own CSS
 * (no script, no font, no image, no address outside the page), readable
 * on a phone (one column under 600px, tables that scroll sideways). The
 * supervisors' page (rules/supervisor_page.h) is built with it.
 *
 * Every text a caller passes (titles, cells, labels) goes through the
 * template engine's HTML escaping (templates/escape.h, ESC_HTML): a
 * student's name can never become markup. The caller masks contacts
 * before they get here.
 *
 * Ownership: struct page owns its buffer; page_end() hands it over (the
 * caller frees the string), page_free() drops it. An allocation failure
 * is remembered and reported once by page_end() (NULL).
 */
#ifndef NUDGE_TMPL_PAGE_H
#define NUDGE_TMPL_PAGE_H

#include <stddef.h>

#include "templates/buf.h"

struct page {
    struct tbuf b;
    int in_section, in_table, in_figures;
};

/* Opens the document: head (charset, viewport, title, CSS), the page's
 * heading and, when subtitle is not NULL, a line under it. */
void page_begin(struct page *p, const char *title, const char *subtitle);

/* Opens a section (closing the one before): id (letters, digits, '-';
 * the anchor) and its heading. */
void page_section(struct page *p, const char *id, const char *title);

/* A heading inside a section (a rule's name in the report). */
void page_heading(struct page *p, const char *title);

/* A paragraph of text; cls NULL, or "note" (greyed), or "warn". Text
 * between backticks is set as code (`nudgectl overdue`). */
void page_para(struct page *p, const char *cls, const char *text);

/* Key figures, shown as boxes side by side: page_figures_begin(), one
 * page_figure() each, page_figures_end(). */
void page_figures_begin(struct page *p);
void page_figure(struct page *p, const char *name, const char *value);
void page_figures_end(struct page *p);

/* A table that scrolls sideways on a narrow screen: its n headers, then
 * rows of n cells (NULL cells are empty), then page_table_end(). */
void page_table_begin(struct page *p, const char *const *headers, size_t n);
void page_table_row(struct page *p, const char *const *cells, size_t n);
void page_table_end(struct page *p);

/* One bar: its label and value (negative values count as 0). */
struct page_bar {
    const char *label;
    double value;
};

/* An interval around a bar's value (a confidence interval), drawn as a
 * whisker: a line across the bar from lo to hi with a tick at each end.
 * lo > hi (or NaN): none for that bar. */
struct page_range {
    double lo, hi;
};

/* A horizontal bar chart as inline SVG: one bar per item, each with its
 * label on the left and its value (printed "%.4g" then unit) past its end
 * (past its whisker's); the longest bar or whisker is the largest value,
 * the others in proportion, bars and whiskers on one scale. With no
 * bars, a line saying there is nothing to draw instead. caption names
 * the chart (its <title>, for screen readers). */
void page_bar_chart(struct page *p, const char *caption,
                    const struct page_bar *bars, size_t n, const char *unit);
/* The same with a whisker per bar: ranges[i] around bars[i] (ranges
 * NULL: none, as page_bar_chart()). */
void page_bar_chart_ranges(struct page *p, const char *caption,
                           const struct page_bar *bars,
                           const struct page_range *ranges, size_t n,
                           const char *unit);

/* Closes the document and returns it (NUL-terminated; the caller frees),
 * or NULL when memory ran out. The page is empty again afterwards. */
char *page_end(struct page *p);

/* Drops a page not ended. */
void page_free(struct page *p);

/* The drawing width (SVG user units) of the longest bar. */
#define PAGE_BAR_MAX 200

#endif
