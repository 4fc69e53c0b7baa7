/*
 * student.h - one student as nudge sees it: the attributes of the CRM's
 * hash (slm:student:{ID}), its tags and its opt-outs; and a staff member
 * (slm:staff:{ID}). The rule engine evaluates conditions against it and
 * the templates render from it. Loading from Redis is student_store.h.
 *
 * Ownership: a struct student owns every string in it; student_free()
 * frees all. Lookups return pointers into the student, valid until it is
 * freed. After loading or building, call student_seal() once: lookups are
 * binary searches over the sorted arrays it makes.
 */
#ifndef NUDGE_STUDENT_H
#define NUDGE_STUDENT_H

#include <stddef.h>

struct attr {
    char *name;
    char *value;
};

/* A set of names and values: a Redis hash. */
struct attrs {
    struct attr *v;
    size_t n, cap;
};

/* A set of strings: a Redis set. */
struct strset {
    char **v;
    size_t n, cap;
};

struct student {
    char *id;
    struct attrs attrs;
    struct strset tags;
    struct strset optouts; /* "sms", "email", "wecom" or "all" */
    int optouts_unread;    /* loaded without them (STUDENT_NO_OPTOUTS) */
    int tags_unread;       /* loaded without them (STUDENT_HASH) */
};

struct staff {
    char *id;
    struct attrs attrs;
};

/* --- attribute maps and string sets ------------------------------------ */
/* Both copy their arguments. Return 0, or -1 on allocation failure. */
int attrs_set(struct attrs *a, const char *name, const char *value);
/* Sets name to value, replacing a value it had; keeps the map sorted
 * (for changing a sealed student). Returns 0 or -1. */
int attrs_put(struct attrs *a, const char *name, const char *value);
/* Valid after attrs_sort(); NULL when absent. */
const char *attrs_get(const struct attrs *a, const char *name);
void attrs_sort(struct attrs *a);
void attrs_clear(struct attrs *a);

int strset_add(struct strset *s, const char *value);
void strset_sort(struct strset *s);
int strset_has(const struct strset *s, const char *value);
/* Adds value if missing, or removes it, keeping the set sorted (for
 * changing a sealed student). Return 0 or -1. */
int strset_put(struct strset *s, const char *value);
void strset_remove(struct strset *s, const char *value);
void strset_clear(struct strset *s);

/* --- students ---------------------------------------------------------- */
/* Returns a new empty student (caller frees with student_free()), or NULL. */
struct student *student_new(const char *id);
void student_free(struct student *s);
/* Sorts attributes, tags and opt-outs; call once after filling. */
void student_seal(struct student *s);

/* The attribute's value, or NULL when the student has none. */
const char *student_get(const struct student *s, const char *name);
int student_has_tag(const struct student *s, const char *tag);
/* True when the student refused this channel type, or "all", or when
 * the opt-outs were not read (STUDENT_NO_OPTOUTS). */
int student_opted_out(const struct student *s, const char *channel_type);

/* --- staff ------------------------------------------------------------- */
struct staff *staff_new(const char *id);
void staff_free(struct staff *s);
const char *staff_get(const struct staff *s, const char *name);

#endif
