/*
 * config_int.h - what config.c (the key table, loading) and
 * config_value.c (checking and setting one value of a type) share:
 * nothing else includes it.
 */
#ifndef NUDGE_CONFIG_INT_H
#define NUDGE_CONFIG_INT_H

#include <stddef.h>

#include "core/config.h"

#define OFF(field) offsetof(struct config, field)

enum conf_type {
    CT_STR,      /* char * */
    CT_PATH,     /* char *, relative to the config's folder; "" stays "" */
    CT_SECRET,   /* char *, env:/file:/literal resolved */
    CT_ADDR,     /* char *, host:port or unix:/path */
    CT_LISTEN,   /* char *, host:port or "" (off) */
    CT_INT,      /* int in [min, max] */
    CT_LONG,     /* long in [min, max] */
    CT_DURATION, /* int64_t milliseconds */
    CT_LOGLEVEL, /* int */
    CT_HOURS,    /* char *, "HH:MM-HH:MM" or "" */
    CT_STAFF_HOURS, /* char *, CT_HOURS or "working" */
    CT_DAYS,     /* char *, weekdays: "mon-fri", "mon,wed" */
    CT_SPAN,     /* char *, "HH:MM-HH:MM" (24:00 allowed), start first */
    CT_ZONE,     /* char *, an IANA zone this machine has, or "" */
    CT_CHOICE,   /* int, one of the key's choices (a word each) */
    CT_DEADLINE, /* struct lead_deadline, "24h" or "24h working" */
    CT_DATES,    /* char *, dates and ranges (worktime_parse_ranges) */
    CT_URLPAT,   /* char *, an http(s) URL holding {id}, or "" */
    CT_HHMM,     /* char *, "HH:MM" or "" */
    CT_WORDS,    /* char *, consent words: PCRE2 patterns, comma separated */
    CT_NAMES,    /* char *, names (letters, digits, _, -) split by spaces
                    or commas, kept as written; "" for none */
};

/* A word a CT_CHOICE key may take, its value and what it means (for the
 * error that lists them); a table ends with a NULL word. */
struct conf_choice {
    const char *word;
    int value;
    const char *means;
};

struct conf_key {
    const char *section;
    const char *key;
    enum conf_type type;
    size_t offset;
    const char *def;
    long min, max;
};

/* k's field in cfg, for a key whose value is a string. */
static inline char **conf_str_field(struct config *cfg,
                                    const struct conf_key *k)
{
    return (char **)((char *)cfg + k->offset);
}

/* 1 when a key of type t keeps its value as a string (config_free()
 * frees it). */
int conf_type_is_string(enum conf_type t);

/* Checks value as k's type and sets k's field of cfg to it. Returns 0,
 * or -1 with why in err (for "file:line: key: why"). */
int conf_set(struct config *cfg, const struct conf_key *k, const char *value,
             char *err, size_t errlen);

#endif
