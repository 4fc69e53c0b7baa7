/*
 * diag.h - a list of errors and warnings a person will read, each
 * "file:line:col: message" (col 0 is left out: "file:line: message").
 * Config, rule and template checks add to one list and keep going, then
 * report them all, as OpenBSD's parse.y does with its errors counter.
 */
#ifndef NUDGE_DIAG_H
#define NUDGE_DIAG_H

#include <stdio.h>

enum diag_kind { DIAG_ERROR, DIAG_WARNING };

struct diag_item {
    enum diag_kind kind;
    char *text; /* the whole line, "file:line:col: message" */
};

struct diag {
    struct diag_item *v;
    size_t n, cap;
    int errors, warnings;
};

void diag_add(struct diag *d, enum diag_kind kind, const char *file, int line,
              int col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
#define diag_error(d, file, line, col, ...)                                    \
    diag_add(d, DIAG_ERROR, file, line, col, __VA_ARGS__)
#define diag_warning(d, file, line, col, ...)                                  \
    diag_add(d, DIAG_WARNING, file, line, col, __VA_ARGS__)
/* Prints every item, one a line, warnings with "warning: " after the place. */
void diag_print(const struct diag *d, FILE *fp);
/* The first error's text, or "" (for a one-line message). */
const char *diag_first(const struct diag *d);
void diag_clear(struct diag *d);

#endif
