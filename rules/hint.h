/*
 * hint.h - "did you mean ...?": the known name nearest to a misspelt one,
 * for the messages of the parser and the checker.
 */
#ifndef NUDGE_RULES_HINT_H
#define NUDGE_RULES_HINT_H

#include <stddef.h>

/* The candidate nearest to word by edit distance, when it is close enough
 * to be a likely typo (at most a third of its length, and at most 3);
 * NULL otherwise. Returns a pointer into candidates. */
const char *hint_nearest(const char *word, const char *const *candidates,
                         size_t n);

/* Appends ": did you mean \"X\"?" to buf (of size n) when a candidate is
 * near; otherwise leaves buf alone. Returns buf. */
char *hint_append(char *buf, size_t n, const char *word,
                  const char *const *candidates, size_t ncand);

#endif
