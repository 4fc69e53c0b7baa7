/*
 * hint.c - nearest known name by Levenshtein distance (see hint.h).
 */
#include "rules/hint.h"

#include <stdio.h>
#include <string.h>

#define HINT_MAX_LEN 64

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* Edit distance between a and b, counting a swap of two neighbours as
 * one edit (optimal string alignment), both at most HINT_MAX_LEN bytes. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t m[HINT_MAX_LEN + 1][HINT_MAX_LEN + 1];

    for (size_t i = 0; i <= la; i++)
        m[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        m[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            m[i][j] = min3(m[i - 1][j] + 1, m[i][j - 1] + 1,
                           m[i - 1][j - 1] + (a[i - 1] != b[j - 1]));
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && m[i - 2][j - 2] + 1 < m[i][j])
                m[i][j] = m[i - 2][j - 2] + 1;
        }
    return m[la][lb];
}

const char *hint_nearest(const char *word, const char *const *candidates,
                         size_t n)
{
    size_t lw = strlen(word), best = (size_t)-1, limit;
    const char *found = NULL;

    if (lw == 0 || lw > HINT_MAX_LEN)
        return NULL;
    limit = lw / 3 > 3 ? 3 : lw / 3;
    if (limit < 1)
        limit = 1;
    for (size_t i = 0; i < n; i++) {
        size_t lc = strlen(candidates[i]), dist;
        if (lc > HINT_MAX_LEN || strcmp(candidates[i], word) == 0)
            continue;
        dist = edit_distance(word, lw, candidates[i], lc);
        if (dist <= limit && dist < best) {
            best = dist;
            found = candidates[i];
        }
    }
    return found;
}

char *hint_append(char *buf, size_t n, const char *word,
                  const char *const *candidates, size_t ncand)
{
    const char *near = hint_nearest(word, candidates, ncand);
    size_t len = strlen(buf);

    if (near && len < n)
        snprintf(buf + len, n - len, ": did you mean \"%s\"?", near);
    return buf;
}
