/*
 * diag.c - collecting and printing errors with their place (see diag.h).
 */
#include "core/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* file's entry, made on first use; NULL on no memory. */
static struct diag_file *file_entry(struct diag *d, const char *file)
{
    struct diag_file *v;

    for (size_t i = 0; i < d->nfiles; i++)
        if (strcmp(d->files[i].file, file) == 0)
            return &d->files[i];
    if (!(v = realloc(d->files, (d->nfiles + 1) * sizeof *v)))
        return NULL;
    d->files = v;
    v = &d->files[d->nfiles];
    if (!(v->file = strdup(file)))
        return NULL;
    v->kept = v->more = 0;
    d->nfiles++;
    return v;
}

/* Counts an item of file; 1 when it is to be kept. */
static int keep_item(struct diag *d, enum diag_kind kind, const char *file)
{
    struct diag_file *f = file_entry(d, file);

    if (kind == DIAG_ERROR)
        d->errors++;
    else
        d->warnings++;
    if (f && f->kept >= DIAG_FILE_MAX) {
        f->more++;
        return 0;
    }
    if (f)
        f->kept++;
    return 1;
}

void diag_add(struct diag *d, enum diag_kind kind, const char *file, int line,
              int col, const char *fmt, ...)
{
    char place[512], msg[1024], *text;
    va_list ap;

    if (!keep_item(d, kind, file))
        return;
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
}

void diag_print(const struct diag *d, FILE *fp)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(fp, "%s\n", d->v[i].text);
    for (size_t i = 0; i < d->nfiles; i++)
        if (d->files[i].more)
            fprintf(fp, "%s: and %zu more errors or warnings (the first %d "
                        "are above)\n",
                    d->files[i].file, d->files[i].more, DIAG_FILE_MAX);
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
    for (size_t i = 0; i < d->nfiles; i++)
        free(d->files[i].file);
    free(d->files);
    memset(d, 0, sizeof *d);
}
