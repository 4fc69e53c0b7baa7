/*
 * config_value.c - one config value checked and set as its key's type
 * says (config_int.h): numbers in range, durations, hours, zones, dates,
 * words from a list, secrets resolved. config.c holds the key table and
 * loads the file; every value goes through conf_set() here.
 */
#include "core/config_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/consent.h"
#include "core/duration.h"
#include "core/log.h"
#include "core/tz.h"

static const struct conf_choice followup_by_choices[] = {
    {"any", LEADS_FOLLOWUP_ANY, "every staff member's followups count"},
    {"owner", LEADS_FOLLOWUP_OWNER, "only the owner's"},
    {NULL, 0, NULL}};
static const struct conf_choice optout_scope_choices[] = {
    {"channel", 0, "the reply's channel"},
    {"all", 1, "every channel"},
    {NULL, 0, NULL}};
static const struct conf_choice over_cap_choices[] = {
    {"skip", 0, "the message is not sent"},
    {"defer", 1, "it waits until the cap's day or week is over"},
    {NULL, 0, NULL}};
static const struct conf_choice yes_no_choices[] = {
    {"yes", 1, "on"}, {"no", 0, "off"}, {NULL, 0, NULL}};

int conf_type_is_string(enum conf_type t)
{
    switch (t) {
    case CT_INT:
    case CT_LONG:
    case CT_DURATION:
    case CT_LOGLEVEL:
    case CT_CHOICE:
    case CT_DEADLINE:
        return 0;
    default:
        return 1;
    }
}

static int valid_addr(const char *v)
{
    const char *colon;
    char *end;
    long port;

    if (strncmp(v, "unix:", 5) == 0)
        return v[5] == '/';
    colon = strrchr(v, ':');
    if (!colon || colon == v)
        return 0;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    return errno == 0 && *end == '\0' && colon[1] && port > 0 &&
           port < 65536;
}

static int valid_hhmm(const char *s)
{
    return isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
           s[2] == ':' && isdigit((unsigned char)s[3]) &&
           isdigit((unsigned char)s[4]) && (s[0] - '0') * 10 + s[1] - '0' < 24 &&
           (s[3] - '0') * 10 + s[4] - '0' < 60;
}

static int valid_hours(const char *v)
{
    return *v == '\0' ||
           (strlen(v) == 11 && valid_hhmm(v) && v[5] == '-' &&
            valid_hhmm(v + 6));
}

static int set_string(char **field, const char *value)
{
    char *copy = strdup(value);

    if (!copy)
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

/* The words of each CT_CHOICE key, by its field. */
static const struct {
    size_t offset;
    const struct conf_choice *choices;
} choice_tables[] = {
    {OFF(leads.followup_by), followup_by_choices},
    {OFF(consent.scope_all), optout_scope_choices},
    {OFF(delivery.over_cap_defer), over_cap_choices},
    {OFF(report.counters), yes_no_choices},
};

static const struct conf_choice *choices_of(const struct conf_key *k)
{
    for (size_t i = 0; i < sizeof choice_tables / sizeof choice_tables[0];
         i++)
        if (choice_tables[i].offset == k->offset)
            return choice_tables[i].choices;
    return NULL; /* cannot happen: every CT_CHOICE key has a table */
}

/* A CT_CHOICE key: its word's value, or an error listing the words. */
static int set_choice(struct config *cfg, const struct conf_key *k,
                      const char *value, char *err, size_t errlen)
{
    const struct conf_choice *choices = choices_of(k), *c;
    size_t used;

    for (c = choices; c->word; c++)
        if (strcmp(value, c->word) == 0) {
            *(int *)((char *)cfg + k->offset) = c->value;
            return 0;
        }
    used = (size_t)snprintf(err, errlen, "invalid %s \"%s\": use ", k->key,
                            value);
    for (c = choices; c->word && used < errlen; c++)
        used += (size_t)snprintf(err + used, errlen - used, "%s%s (%s)",
                                 c == choices        ? ""
                                 : c[1].word     ? ", "
                                                 : " or ",
                                 c->word, c->means);
    return -1;
}

/* Checks a [worktime] value; 0, or -1 with why in err. */
static int worktime_value(enum conf_type t, const char *value, char *err,
                          size_t errlen)
{
    unsigned days;
    int from, to;

    if (t == CT_DAYS)
        return worktime_parse_days(value, &days, err, errlen);
    if (t == CT_SPAN)
        return worktime_parse_span(value, &from, &to, err, errlen);
    if (*value && !tz_known(value)) {
        snprintf(err, errlen,
                 "unknown time zone \"%s\": use an IANA name such as "
                 "Asia/Shanghai (see /usr/share/zoneinfo)",
                 value);
        return -1;
    }
    return 0;
}

/* "24h" (wall clock) or "24h working", "1d working" (the school's
 * working time, as a rule's `wait 24h working` counts it). 0 or -1. */
static int parse_deadline(const char *value, struct lead_deadline *dl,
                          char *err, size_t errlen)
{
    char dur[32];
    const char *sp = strchr(value, ' ');
    size_t len = sp ? (size_t)(sp - value) : strlen(value);
    int64_t ms;

    if (len >= sizeof dur)
        len = sizeof dur - 1;
    memcpy(dur, value, len);
    dur[len] = 0;
    if (duration_parse(dur, &ms) < 0 ||
        (sp && strcmp(sp + strspn(sp, " "), "working") != 0) ||
        (sp && dur[len - 1] == 'w')) {
        snprintf(err, errlen,
                 "invalid deadline \"%s\": use a duration (24h), or one "
                 "counted in working time (24h working, 1d working)",
                 value);
        return -1;
    }
    dl->working = sp != NULL;
    dl->ms = ms;
    dl->work_days = 0;
    if (dl->working && dur[len - 1] == 'd') { /* as the rule's parser */
        dl->work_days = (long)(ms / 86400000);
        dl->ms = 0;
    }
    return 0;
}

/* The first name of a CT_NAMES list that is not letters, digits, _ and
 * -, or NULL when all are. */
static const char *bad_name_in(const char *list)
{
    const char *seps = " ,\t";

    for (const char *p = list + strspn(list, seps); *p;
         p += strspn(p, seps)) {
        size_t n = strcspn(p, seps);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)p[i];
            if (!isalnum(c) && c != '_' && c != '-')
                return p;
        }
        p += n;
    }
    return NULL;
}

int conf_set(struct config *cfg, const struct conf_key *k, const char *value,
             char *err, size_t errlen)
{
    char *end, *resolved;
    const char *bad;
    long n;
    int64_t ms;
    int lvl;

    switch (k->type) {
    case CT_STR:
        return set_string(conf_str_field(cfg, k), value);
    case CT_NAMES:
        if ((bad = bad_name_in(value))) {
            snprintf(err, errlen,
                     "invalid name \"%.*s\": use names of letters, digits, "
                     "_ and -, separated by spaces or commas",
                     (int)strcspn(bad, " ,\t"), bad);
            return -1;
        }
        return set_string(conf_str_field(cfg, k), value);
    case CT_PATH:
        if (!*value) /* an empty path is "none", not the config's folder */
            return set_string(conf_str_field(cfg, k), value);
        if (!(resolved = config_path(cfg, value)))
            return -1;
        free(*conf_str_field(cfg, k));
        *conf_str_field(cfg, k) = resolved;
        return 0;
    case CT_SECRET:
        if (!(resolved = config_secret(cfg, value, err, errlen)))
            return -1;
        free(*conf_str_field(cfg, k));
        *conf_str_field(cfg, k) = resolved;
        return 0;
    case CT_ADDR:
        if (!valid_addr(value)) {
            snprintf(err, errlen,
                     "invalid address \"%s\": use host:port or unix:/path",
                     value);
            return -1;
        }
        return set_string(conf_str_field(cfg, k), value);
    case CT_LISTEN:
        if (*value && (strncmp(value, "unix:", 5) == 0 || !valid_addr(value))) {
            snprintf(err, errlen,
                     "invalid listen address \"%s\": use host:port, or "
                     "nothing to turn the listener off",
                     value);
            return -1;
        }
        return set_string(conf_str_field(cfg, k), value);
    case CT_HOURS:
        if (!valid_hours(value)) {
            snprintf(err, errlen,
                     "invalid hours \"%s\": use HH:MM-HH:MM, e.g. "
                     "21:00-08:00",
                     value);
            return -1;
        }
        return set_string(conf_str_field(cfg, k), value);
    case CT_STAFF_HOURS:
        if (strcmp(value, "working") != 0 && !valid_hours(value)) {
            snprintf(err, errlen,
                     "invalid hours \"%s\": use working (outside "
                     "[worktime]), HH:MM-HH:MM, e.g. 20:00-08:00, or "
                     "nothing for never",
                     value);
            return -1;
        }
        return set_string(conf_str_field(cfg, k), value);
    case CT_DAYS:
    case CT_SPAN:
    case CT_ZONE:
        return worktime_value(k->type, value, err, errlen) < 0
                   ? -1
                   : set_string(conf_str_field(cfg, k), value);
    case CT_HHMM:
        if (*value && (strlen(value) != 5 || !valid_hhmm(value))) {
            snprintf(err, errlen,
                     "invalid time \"%s\": use HH:MM, e.g. 18:00", value);
            return -1;
        }
        return set_string(conf_str_field(cfg, k), value);
    case CT_URLPAT:
        if (*value && ((strncmp(value, "http://", 7) != 0 &&
                        strncmp(value, "https://", 8) != 0) ||
                       !strstr(value, "{id}"))) {
            snprintf(err, errlen,
                     "invalid URL pattern \"%s\": use an http(s) URL with "
                     "{id} where the student's id goes, e.g. "
                     "https://crm.example.edu/students/{id}",
                     value);
            return -1;
        }
        return set_string(conf_str_field(cfg, k), value);
    case CT_WORDS:
        return consent_words_check(value, err, errlen) < 0
                   ? -1
                   : set_string(conf_str_field(cfg, k), value);
    case CT_INT:
    case CT_LONG:
        errno = 0;
        n = strtol(value, &end, 10);
        if (errno || *end || end == value || n < k->min || n > k->max) {
            snprintf(err, errlen,
                     "invalid number \"%s\": use a whole number from %ld "
                     "to %ld",
                     value, k->min, k->max);
            return -1;
        }
        if (k->type == CT_INT)
            *(int *)((char *)cfg + k->offset) = (int)n;
        else
            *(long *)((char *)cfg + k->offset) = n;
        return 0;
    case CT_DURATION:
        /* "0" needs no unit; an empty value is 0 where 0 is the default
         * (it means "none": [retention] timeline, say) */
        if (strcmp(value, "0") == 0 ||
            (!*value && k->def && strcmp(k->def, "0") == 0))
            ms = 0;
        else if (duration_parse(value, &ms) < 0) {
            snprintf(err, errlen,
                     "invalid duration \"%s\": use a number and ms, s, m, "
                     "h, d or w",
                     value);
            return -1;
        }
        *(int64_t *)((char *)cfg + k->offset) = ms;
        return 0;
    case CT_LOGLEVEL:
        if ((lvl = log_level_parse(value)) < 0) {
            snprintf(err, errlen,
                     "invalid log level \"%s\": use error, warn, info or "
                     "debug",
                     value);
            return -1;
        }
        *(int *)((char *)cfg + k->offset) = lvl;
        return 0;
    case CT_CHOICE:
        return set_choice(cfg, k, value, err, errlen);
    case CT_DATES:
        return worktime_parse_ranges(value, NULL, NULL, err, errlen) < 0
                   ? -1
                   : set_string(conf_str_field(cfg, k), value);
    case CT_DEADLINE:
        return parse_deadline(value,
                              (struct lead_deadline *)((char *)cfg +
                                                       k->offset),
                              err, errlen);
    }
    return -1;
}
