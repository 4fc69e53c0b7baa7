/*
 * intern.c - string to small integer (see intern.h).
 */
#include "rules/intern.h"

#include <stdlib.h>
#include <string.h>

static uint32_t fnv1a(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

int intern_findn(const struct intern *t, const char *s, size_t len)
{
    size_t mask, i;

    if (!t->nslots)
        return -1;
    mask = t->nslots - 1;
    for (i = fnv1a(s, len) & mask; t->slots[i]; i = (i + 1) & mask) {
        const char *name = t->names[t->slots[i] - 1];
        if (strncmp(name, s, len) == 0 && name[len] == 0)
            return t->slots[i] - 1;
    }
    return -1;
}

int intern_find(const struct intern *t, const char *s)
{
    return intern_findn(t, s, strlen(s));
}

static int rehash(struct intern *t, size_t nslots)
{
    int32_t *slots = calloc(nslots, sizeof *slots);

    if (!slots)
        return -1;
    for (size_t id = 0; id < t->n; id++) {
        size_t i = fnv1a(t->names[id], strlen(t->names[id])) & (nslots - 1);
        while (slots[i])
            i = (i + 1) & (nslots - 1);
        slots[i] = (int32_t)id + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

int intern_add(struct intern *t, const char *s)
{
    int id = intern_find(t, s);
    size_t i;

    if (id >= 0)
        return id;
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        char **nv = realloc(t->names, ncap * sizeof *nv);
        if (!nv)
            return -1;
        t->names = nv;
        t->cap = ncap;
    }
    if ((t->n + 1) * 2 > t->nslots &&
        rehash(t, t->nslots ? t->nslots * 2 : 32) < 0)
        return -1;
    if (!(t->names[t->n] = strdup(s)))
        return -1;
    i = fnv1a(s, strlen(s)) & (t->nslots - 1);
    while (t->slots[i])
        i = (i + 1) & (t->nslots - 1);
    t->slots[i] = (int32_t)t->n + 1;
    return (int)t->n++;
}

void intern_free(struct intern *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->names[i]);
    free(t->names);
    free(t->slots);
    memset(t, 0, sizeof *t);
}
