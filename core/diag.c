/*
 * diag.c - collecting and printing errors with their place (see diag.h).
 */
#include "core/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diag_add(struct diag *d, enum diag_kind kind, const char *file, int line,
              int col, const char *fmt, ...)
{
    char place[512], msg[1024], *text;
    va_list ap;

    if (col > 0)
        snprintf(place, sizeof place, "%s:%d:%d: ", file, line, col);
    else if (line > 0)
        snprintf(place, sizeof place, "%s:%d: ", file, line);
    else
        snprintf(place, sizeof place, "%s: ", file);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (asprintf(&text, "%s%s%s", place,
                 kind == DIAG_WARNING ? "warning: " : "", msg) < 0)
        return;
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 8;
        struct diag_item *nv = realloc(d->v, ncap * sizeof *nv);
        if (!nv) {
            free(text);
            return;
        }
        d->v = nv;
        d->cap = ncap;
    }
    d->v[d->n].kind = kind;
    d->v[d->n].text = text;
    d->n++;
    if (kind == DIAG_ERROR)
        d->errors++;
    else
        d->warnings++;
}

void diag_print(const struct diag *d, FILE *fp)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(fp, "%s\n", d->v[i].text);
}

const char *diag_first(const struct diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].kind == DIAG_ERROR)
            return d->v[i].text;
    return "";
}

void diag_clear(struct diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].text);
    free(d->v);
    memset(d, 0, sizeof *d);
}
