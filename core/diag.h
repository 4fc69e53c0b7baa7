/*
 * diag.h - a list of errors and warnings a person will read, each
 * "file:line:col: message" (col 0 is left out: "file:line: message").
 * Config, rule and template checks add to one list and keep going, then
 * report them all, as OpenBSD's parse.y does with its errors counter.
 * A file keeps its first DIAG_FILE_MAX items; the rest are counted, and
 * printed as one "file: and N more" line, so 1 MB of junk makes 21 lines,
 * not half a million.
 */
#ifndef NUDGE_DIAG_H
#define NUDGE_DIAG_H

#include <stdio.h>

enum diag_kind { DIAG_ERROR, DIAG_WARNING };

struct diag_item {
    enum diag_kind kind;
    char *text; /* the whole line, "file:line:col: message" */
};

#define DIAG_FILE_MAX 20

/* A file's items beyond DIAG_FILE_MAX: counted, not kept. */
struct diag_file {
    char *file;
    size_t kept, more;
};

struct diag {
    struct diag_item *v;
    size_t n, cap;
    int errors, warnings; /* all of them, kept or not */
    struct diag_file *files;
    size_t nfiles;
};

void diag_add(struct diag *d, enum diag_kind kind, const char *file, int line,
              int col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
#define diag_error(d, file, line, col, ...)                                    \
    diag_add(d, DIAG_ERROR, file, line, col, __VA_ARGS__)
#define diag_warning(d, file, line, col, ...)                                  \
    diag_add(d, DIAG_WARNING, file, line, col, __VA_ARGS__)
/* Prints every item, one a line, warnings with "warning: " after the
 * place; then "file: and N more errors or warnings" for a file that had
 * more than DIAG_FILE_MAX. */
void diag_print(const struct diag *d, FILE *fp);
/* The first error's text, or "" (for a one-line message). */
const char *diag_first(const struct diag *d);
void diag_clear(struct diag *d);

#endif
