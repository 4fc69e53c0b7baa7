/*
 * intern.h - a table that gives each distinct string a small integer id
 * (0, 1, 2, ... in order of first sight): stages, tags and attribute
 * names of a rule set are compared as integers at evaluation time.
 * Open addressing with FNV-1a; lookups never allocate.
 *
 * Ownership: the table copies the strings it keeps; intern_free() frees
 * them. Not thread-safe for adding; lookups may run on many threads once
 * no one adds any more.
 */
#ifndef NUDGE_RULES_INTERN_H
#define NUDGE_RULES_INTERN_H

#include <stddef.h>
#include <stdint.h>

struct intern {
    char **names; /* by id */
    size_t n, cap;
    int32_t *slots; /* ids + 1, 0 empty */
    size_t nslots;  /* a power of two */
};

/* The id of s, adding it when new. Returns -1 on no memory. */
int intern_add(struct intern *t, const char *s);
/* The id of s, or -1 when it was never added. */
int intern_find(const struct intern *t, const char *s);
/* The id of the len bytes at s (not NUL-terminated), or -1. */
int intern_findn(const struct intern *t, const char *s, size_t len);
void intern_free(struct intern *t);

#endif
