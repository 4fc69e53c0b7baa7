/*
 * student.c - the in-memory student and staff records (see student.h).
 */
#include "core/student.h"

#include <stdlib.h>
#include <string.h>

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    void *nv = realloc(*v, ncap * size);
    if (!nv)
        return -1;
    *v = nv;
    *cap = ncap;
    return 0;
}

int attrs_set(struct attrs *a, const char *name, const char *value)
{
    if (grow((void **)&a->v, &a->cap, a->n + 1, sizeof *a->v) < 0)
        return -1;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -1;
    }
    a->v[a->n].name = n;
    a->v[a->n].value = v;
    a->n++;
    return 0;
}

static int attr_cmp(const void *x, const void *y)
{
    return strcmp(((const struct attr *)x)->name,
                  ((const struct attr *)y)->name);
}

void attrs_sort(struct attrs *a)
{
    if (a->n > 1)
        qsort(a->v, a->n, sizeof *a->v, attr_cmp);
}

/* strcmp() after the first byte, inline: attribute names are a few
 * bytes, shorter than a call to the library's vector compare. */
static int rest_cmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

/* A binary search of its own, not bsearch(): every template value and
 * rule attribute is looked up here, and most probes are told apart by
 * their first byte without a call. The order is attr_cmp's (strcmp's). */
const char *attrs_get(const struct attrs *a, const char *name)
{
    size_t lo = 0, hi = a->n;
    const unsigned char first = (unsigned char)name[0];

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *probe = a->v[mid].name;
        int c = (int)first - (int)(unsigned char)probe[0];
        if (c == 0)
            c = rest_cmp(name + 1, probe + 1);
        if (c == 0)
            return a->v[mid].value;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int attrs_put(struct attrs *a, const char *name, const char *value)
{
    struct attr key = {(char *)name, NULL};
    struct attr *hit = a->n ? bsearch(&key, a->v, a->n, sizeof *a->v,
                                      attr_cmp)
                            : NULL;
    char *copy;

    if (!hit) {
        if (attrs_set(a, name, value) < 0)
            return -1;
        attrs_sort(a);
        return 0;
    }
    if (!(copy = strdup(value)))
        return -1;
    free(hit->value);
    hit->value = copy;
    return 0;
}

void attrs_clear(struct attrs *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].name);
        free(a->v[i].value);
    }
    free(a->v);
    memset(a, 0, sizeof *a);
}

int strset_add(struct strset *s, const char *value)
{
    if (grow((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v) < 0)
        return -1;
    if (!(s->v[s->n] = strdup(value)))
        return -1;
    s->n++;
    return 0;
}

static int str_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

void strset_sort(struct strset *s)
{
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, str_cmp);
}

int strset_has(const struct strset *s, const char *value)
{
    if (s->n == 0)
        return 0;
    return bsearch(&value, s->v, s->n, sizeof *s->v, str_cmp) != NULL;
}

int strset_put(struct strset *s, const char *value)
{
    if (strset_has(s, value))
        return 0;
    if (strset_add(s, value) < 0)
        return -1;
    strset_sort(s);
    return 0;
}

void strset_remove(struct strset *s, const char *value)
{
    char **hit = s->n ? bsearch(&value, s->v, s->n, sizeof *s->v, str_cmp)
                      : NULL;

    if (!hit)
        return;
    free(*hit);
    memmove(hit, hit + 1, (size_t)(s->v + s->n - hit - 1) * sizeof *hit);
    s->n--;
}

void strset_clear(struct strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

struct student *student_new(const char *id)
{
    struct student *s = calloc(1, sizeof *s);

    if (s && !(s->id = strdup(id))) {
        free(s);
        return NULL;
    }
    return s;
}

void student_free(struct student *s)
{
    if (!s)
        return;
    attrs_clear(&s->attrs);
    strset_clear(&s->tags);
    strset_clear(&s->optouts);
    free(s->id);
    free(s);
}

void student_seal(struct student *s)
{
    attrs_sort(&s->attrs);
    strset_sort(&s->tags);
    strset_sort(&s->optouts);
}

const char *student_get(const struct student *s, const char *name)
{
    return attrs_get(&s->attrs, name);
}

int student_has_tag(const struct student *s, const char *tag)
{
    return strset_has(&s->tags, tag);
}

int student_opted_out(const struct student *s, const char *channel_type)
{
    /* never read: no send may go on what was not looked at */
    if (s->optouts_unread)
        return 1;
    return strset_has(&s->optouts, "all") ||
           strset_has(&s->optouts, channel_type);
}

struct staff *staff_new(const char *id)
{
    struct staff *s = calloc(1, sizeof *s);

    if (s && !(s->id = strdup(id))) {
        free(s);
        return NULL;
    }
    return s;
}

void staff_free(struct staff *s)
{
    if (!s)
        return;
    attrs_clear(&s->attrs);
    free(s->id);
    free(s);
}

const char *staff_get(const struct staff *s, const char *name)
{
    return attrs_get(&s->attrs, name);
}
