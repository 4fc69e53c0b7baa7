/*
 * config.c - the key table and the typed setters of the INI config.
 *
 * Every [section] key is one row of conf_keys[]: its type, where it goes
 * (offsetof) and its default. libinih calls handle_pair() for each
 * name=value; a counting reader tells it the line, since Debian's libinih
 * is built without INI_HANDLER_LINENO.
 */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/consent.h"
#include "core/duration.h"
#include "core/log.h"
#include "core/tz.h"

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

#define OFF(field) offsetof(struct config, field)

static const struct conf_key conf_keys[] = {
    {"redis", "address", CT_ADDR, OFF(redis.address), "127.0.0.1:6379", 0, 0},
    {"redis", "prefix", CT_STR, OFF(redis.prefix), "slm:", 0, 0},
    {"redis", "password", CT_SECRET, OFF(redis.password), NULL, 0, 0},
    {"redis", "db", CT_INT, OFF(redis.db), "0", 0, 1024},
    {"redis", "connect_timeout", CT_DURATION, OFF(redis.connect_timeout_ms),
     "2s", 0, 0},
    {"redis", "timeline_maxlen", CT_LONG, OFF(redis.timeline_maxlen), "1000",
     10, 100000000},

    {"daemon", "pidfile", CT_PATH, OFF(daemon.pidfile), NULL, 0, 0},
    {"daemon", "group", CT_STR, OFF(daemon.group), "nudged", 0, 0},
    {"daemon", "consumer", CT_STR, OFF(daemon.consumer), NULL, 0, 0},
    {"daemon", "batch", CT_INT, OFF(daemon.batch), "500", 1, 100000},
    {"daemon", "block", CT_DURATION, OFF(daemon.block_ms), "1s", 0, 0},
    {"daemon", "claim_idle", CT_DURATION, OFF(daemon.claim_idle_ms), "60s", 0,
     0},
    {"daemon", "rejected_maxlen", CT_LONG, OFF(daemon.rejected_maxlen),
     "100000", 10, 100000000},
    {"daemon", "log_level", CT_LOGLEVEL, OFF(daemon.log_level), "info", 0, 0},

    {"rules", "dir", CT_PATH, OFF(rules.dir), "rules", 0, 0},
    {"rules", "schedule_grace", CT_DURATION, OFF(rules.schedule_grace_ms),
     "1h", 0, 0},
    {"rules", "max_chain", CT_INT, OFF(rules.max_chain), "8", 1, 100},

    {"templates", "dir", CT_PATH, OFF(templates.dir), "templates", 0, 0},
    {"templates", "sms_max_segments", CT_INT, OFF(templates.sms_max_segments),
     "3", 1, 20},
    {"templates", "sms_optout_text", CT_STR, OFF(templates.sms_optout_text),
     "拒收请回复R", 0, 0},
    {"templates", "unsubscribe_url", CT_STR, OFF(templates.unsubscribe_url),
     "https://example.edu/unsubscribe", 0, 0},
    {"templates", "unsubscribe_secret", CT_SECRET,
     OFF(templates.unsubscribe_secret), NULL, 0, 0},
    {"templates", "allowed_attributes", CT_NAMES,
     OFF(templates.allowed_attributes), "", 0, 0},

    {"http", "listen", CT_LISTEN, OFF(http.listen), "127.0.0.1:9464", 0, 0},
    {"http", "receipts_token", CT_SECRET, OFF(http.receipts_token), NULL, 0,
     0},

    {"channels", "plugin_dir", CT_PATH, OFF(plugin_dir), NULL, 0, 0},

    {"queue", "workers", CT_INT, OFF(queue.workers), "8", 1, 256},
    {"queue", "shards", CT_INT, OFF(queue.shards), "1", 1, 1024},
    {"queue", "batch", CT_INT, OFF(queue.batch), "100", 1, 10000},
    {"queue", "lease", CT_DURATION, OFF(queue.lease_ms), "60s", 0, 0},
    {"queue", "retry_base", CT_DURATION, OFF(queue.retry_base_ms), "30s", 0,
     0},
    {"queue", "retry_cap", CT_DURATION, OFF(queue.retry_cap_ms), "1h", 0, 0},
    {"queue", "max_attempts", CT_INT, OFF(queue.max_attempts), "8", 1, 1000},
    {"queue", "max_sleep", CT_DURATION, OFF(queue.max_sleep_ms), "1s", 0, 0},
    {"queue", "max_held", CT_INT, OFF(queue.max_held), "5000", 1, 1000000},
    {"queue", "drain", CT_DURATION, OFF(queue.drain_ms), "30s", 0, 0},

    {"delivery", "quiet_hours", CT_HOURS, OFF(delivery.quiet_hours),
     "21:00-08:00", 0, 0},
    {"delivery", "quiet_hours_service", CT_HOURS,
     OFF(delivery.quiet_hours_service), "22:00-07:00", 0, 0},
    {"delivery", "quiet_hours_staff", CT_STAFF_HOURS,
     OFF(delivery.quiet_hours_staff), "working", 0, 0},
    {"delivery", "blackout", CT_DATES, OFF(delivery.blackout), "", 0, 0},
    {"delivery", "blackout_service", CT_DATES, OFF(delivery.blackout_service),
     "", 0, 0},
    {"delivery", "timezone", CT_ZONE, OFF(delivery.timezone), "Asia/Shanghai",
     0, 0},
    {"delivery", "max_per_day", CT_INT, OFF(delivery.max_per_day), "3", 0,
     1000},
    {"delivery", "max_per_week", CT_INT, OFF(delivery.max_per_week), "0", 0,
     10000},
    {"delivery", "max_per_day_marketing", CT_INT,
     OFF(delivery.class_max[MSG_MARKETING].day), "0", 0, 1000},
    {"delivery", "max_per_week_marketing", CT_INT,
     OFF(delivery.class_max[MSG_MARKETING].week), "0", 0, 10000},
    {"delivery", "max_per_day_service", CT_INT,
     OFF(delivery.class_max[MSG_SERVICE].day), "0", 0, 1000},
    {"delivery", "max_per_week_service", CT_INT,
     OFF(delivery.class_max[MSG_SERVICE].week), "0", 0, 10000},
    {"delivery", "over_cap", CT_CHOICE, OFF(delivery.over_cap_defer), "skip",
     0, 0},
    {"delivery", "dedup_window", CT_DURATION, OFF(delivery.dedup_window_ms),
     "24h", 0, 0},

    {"worktime", "days", CT_DAYS, OFF(work.days), "mon-fri", 0, 0},
    {"worktime", "hours", CT_SPAN, OFF(work.hours), "09:00-18:00", 0, 0},
    {"worktime", "lunch", CT_HOURS, OFF(work.lunch), "", 0, 0},
    {"worktime", "timezone", CT_ZONE, OFF(work.timezone), "", 0, 0},
    {"worktime", "calendar", CT_STR, OFF(work.calendar), "", 0, 0},
    {"leads", "followup_by", CT_CHOICE, OFF(leads.followup_by), "any", 0,
     0},
    {"leads", "open_stages", CT_STR, OFF(leads.open_stages), "", 0, 0},
    {"leads", "closed_tag", CT_STR, OFF(leads.closed_tag), "", 0, 0},
    {"leads", "followup_within", CT_DEADLINE, OFF(leads.followup_within),
     "24h", 0, 0},
    {"retention", "timeline", CT_DURATION, OFF(retention.timeline_ms), "0",
     0, 0},
    {"retention", "students_per_tick", CT_INT,
     OFF(retention.students_per_tick), "100", 1, 100000},
    {"retention", "interval", CT_DURATION, OFF(retention.interval_ms), "1s",
     0, 0},
    {"alerts", "group_wait", CT_DURATION, OFF(alerts.group_wait_ms), "5m", 0,
     0},
    {"alerts", "group_interval", CT_DURATION, OFF(alerts.group_interval_ms),
     "30m", 0, 0},
    {"alerts", "repeat_interval", CT_DURATION,
     OFF(alerts.repeat_interval_ms), "4h", 0, 0},
    {"alerts", "crm_url", CT_URLPAT, OFF(alerts.crm_url), "", 0, 0},

    {"digest", "at", CT_HHMM, OFF(digest.at), "", 0, 0},
    {"digest", "channel", CT_STR, OFF(digest.channel), "", 0, 0},

    {"consent", "optout_words", CT_WORDS, OFF(consent.optout_words),
     "R, TD, T, N, 退订, 拒收, STOP, unsubscribe", 0, 0},
    {"consent", "optin_words", CT_WORDS, OFF(consent.optin_words),
     "START, 订阅", 0, 0},
    {"consent", "optout_scope", CT_CHOICE, OFF(consent.scope_all), "channel",
     0, 0},
    {"consent", "confirm_template", CT_STR, OFF(consent.confirm_template), "",
     0, 0},
};

#define NKEYS (sizeof conf_keys / sizeof conf_keys[0])

/* What the inih callbacks share. */
struct loader {
    struct config *cfg;
    struct diag *d;
    FILE *fp;
    const char *file;
    int line;
    char section[128];       /* the section of the previous pair */
    int section_line;        /* the line of its [header] */
    int header_line;         /* the line of the last [header] read */
    struct conf_section *chan; /* the channel section being filled */
    int lunch_line; /* of [worktime] lunch, for messages */
};

static char **str_field(struct config *cfg, const struct conf_key *k)
{
    return (char **)((char *)cfg + k->offset);
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

/* Applies value to the row's field. Returns 0, or -1 with why in err. */
static int conf_set(struct config *cfg, const struct conf_key *k,
                    const char *value, char *err, size_t errlen)
{
    char *end, *resolved;
    const char *bad;
    long n;
    int64_t ms;
    int lvl;

    switch (k->type) {
    case CT_STR:
        return set_string(str_field(cfg, k), value);
    case CT_NAMES:
        if ((bad = bad_name_in(value))) {
            snprintf(err, errlen,
                     "invalid name \"%.*s\": use names of letters, digits, "
                     "_ and -, separated by spaces or commas",
                     (int)strcspn(bad, " ,\t"), bad);
            return -1;
        }
        return set_string(str_field(cfg, k), value);
    case CT_PATH:
        if (!*value) /* an empty path is "none", not the config's folder */
            return set_string(str_field(cfg, k), value);
        if (!(resolved = config_path(cfg, value)))
            return -1;
        free(*str_field(cfg, k));
        *str_field(cfg, k) = resolved;
        return 0;
    case CT_SECRET:
        if (!(resolved = config_secret(cfg, value, err, errlen)))
            return -1;
        free(*str_field(cfg, k));
        *str_field(cfg, k) = resolved;
        return 0;
    case CT_ADDR:
        if (!valid_addr(value)) {
            snprintf(err, errlen,
                     "invalid address \"%s\": use host:port or unix:/path",
                     value);
            return -1;
        }
        return set_string(str_field(cfg, k), value);
    case CT_LISTEN:
        if (*value && (strncmp(value, "unix:", 5) == 0 || !valid_addr(value))) {
            snprintf(err, errlen,
                     "invalid listen address \"%s\": use host:port, or "
                     "nothing to turn the listener off",
                     value);
            return -1;
        }
        return set_string(str_field(cfg, k), value);
    case CT_HOURS:
        if (!valid_hours(value)) {
            snprintf(err, errlen,
                     "invalid hours \"%s\": use HH:MM-HH:MM, e.g. "
                     "21:00-08:00",
                     value);
            return -1;
        }
        return set_string(str_field(cfg, k), value);
    case CT_STAFF_HOURS:
        if (strcmp(value, "working") != 0 && !valid_hours(value)) {
            snprintf(err, errlen,
                     "invalid hours \"%s\": use working (outside "
                     "[worktime]), HH:MM-HH:MM, e.g. 20:00-08:00, or "
                     "nothing for never",
                     value);
            return -1;
        }
        return set_string(str_field(cfg, k), value);
    case CT_DAYS:
    case CT_SPAN:
    case CT_ZONE:
        return worktime_value(k->type, value, err, errlen) < 0
                   ? -1
                   : set_string(str_field(cfg, k), value);
    case CT_HHMM:
        if (*value && (strlen(value) != 5 || !valid_hhmm(value))) {
            snprintf(err, errlen,
                     "invalid time \"%s\": use HH:MM, e.g. 18:00", value);
            return -1;
        }
        return set_string(str_field(cfg, k), value);
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
        return set_string(str_field(cfg, k), value);
    case CT_WORDS:
        return consent_words_check(value, err, errlen) < 0
                   ? -1
                   : set_string(str_field(cfg, k), value);
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
                   : set_string(str_field(cfg, k), value);
    case CT_DEADLINE:
        return parse_deadline(value,
                              (struct lead_deadline *)((char *)cfg +
                                                       k->offset),
                              err, errlen);
    }
    return -1;
}

static const struct conf_key *find_key(const char *section, const char *key)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(conf_keys[i].section, section) == 0 &&
            strcmp(conf_keys[i].key, key) == 0)
            return &conf_keys[i];
    return NULL;
}

static int known_section(const char *section)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(conf_keys[i].section, section) == 0)
            return 1;
    return strcmp(section, "school") == 0;
}

static struct conf_section *add_channel(struct loader *l, const char *name)
{
    struct config *cfg = l->cfg;
    struct conf_section *nv, *s;

    nv = realloc(cfg->channels, (cfg->nchannels + 1) * sizeof *nv);
    if (!nv)
        return NULL;
    cfg->channels = nv;
    s = &cfg->channels[cfg->nchannels];
    memset(s, 0, sizeof *s);
    if (!(s->name = strdup(name)))
        return NULL;
    s->line = l->section_line;
    s->file = cfg->path;
    cfg->nchannels++;
    return s;
}

static int section_add(struct conf_section *s, const char *key,
                       const char *value, int line)
{
    if (s->nkv == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 8;
        struct conf_kv *nv = realloc(s->kv, ncap * sizeof *nv);
        if (!nv)
            return -1;
        s->kv = nv;
        s->cap = ncap;
    }
    s->kv[s->nkv].key = strdup(key);
    s->kv[s->nkv].value = strdup(value);
    s->kv[s->nkv].line = line;
    s->kv[s->nkv].used = 0;
    if (!s->kv[s->nkv].key || !s->kv[s->nkv].value)
        return -1;
    s->nkv++;
    return 0;
}

/* Values may carry a "  # comment" after them, as the sample does. */
static void strip_comment(const char *value, char *out, size_t n)
{
    size_t len = 0;

    for (const char *p = value; *p && len + 1 < n; p++) {
        if ((*p == '#' || *p == ';') && p > value &&
            isspace((unsigned char)p[-1]))
            break;
        out[len++] = *p;
    }
    while (len > 0 && isspace((unsigned char)out[len - 1]))
        len--;
    out[len] = '\0';
}

/* A new section starts: check its name once, at its header's line. */
static void enter_section(struct loader *l, const char *section)
{
    snprintf(l->section, sizeof l->section, "%s", section);
    l->section_line = l->header_line;
    l->chan = NULL;
    if (*section == '\0')
        return; /* handle_pair() names the stray key */
    if (strncmp(section, "channel.", 8) == 0) {
        if (section[8] == '\0') {
            diag_error(l->d, l->file, l->line, 0,
                       "a channel section needs a name: [channel.NAME]");
            return;
        }
        if (config_channel(l->cfg, section + 8)) {
            diag_error(l->d, l->file, l->section_line, 0,
                       "channel \"%s\" is defined twice", section + 8);
            return;
        }
        l->chan = add_channel(l, section + 8);
    } else if (!known_section(section)) {
        diag_error(l->d, l->file, l->section_line, 0, "unknown section [%s]",
                   section);
    }
}

static int handle_pair(void *user, const char *section, const char *name,
                       const char *raw)
{
    struct loader *l = user;
    const struct conf_key *k;
    char value[4096], err[512];

    if (strcmp(section, l->section) != 0 || l->section_line != l->header_line)
        enter_section(l, section);
    strip_comment(raw, value, sizeof value);
    if (*section == '\0') {
        diag_error(l->d, l->file, l->line, 0,
                   "key \"%s\" is outside any [section]", name);
    } else if (strncmp(section, "channel.", 8) == 0) {
        if (l->chan && section_add(l->chan, name, value, l->line) < 0)
            return 0;
    } else if (strcmp(section, "school") == 0) {
        if (attrs_set(&l->cfg->school, name, value) < 0)
            return 0;
    } else if ((k = find_key(section, name)) != NULL) {
        err[0] = '\0';
        if (k->offset == OFF(digest.channel))
            l->cfg->digest.channel_line = l->line;
        if (conf_set(l->cfg, k, value, err, sizeof err) < 0)
            diag_error(l->d, l->file, l->line, 0, "%s: %s", name,
                       err[0] ? err : "out of memory");
        if (k->offset == OFF(work.calendar))
            l->cfg->work.calendar_line = l->line;
        else if (k->offset == OFF(work.lunch))
            l->lunch_line = l->line;
    } else if (known_section(section)) {
        diag_error(l->d, l->file, l->line, 0,
                   "unknown key \"%s\" in [%s]", name, section);
    }
    return 1;
}

static char *counting_reader(char *str, int num, void *stream)
{
    struct loader *l = stream;
    char *r = fgets(str, num, l->fp);

    if (r) {
        const char *p = r;
        l->line++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '[')
            l->header_line = l->line;
    }
    return r;
}

static int apply_defaults(struct config *cfg)
{
    char err[256];

    for (size_t i = 0; i < NKEYS; i++)
        if (conf_keys[i].def &&
            conf_set(cfg, &conf_keys[i], conf_keys[i].def, err, sizeof err) < 0)
            return -1;
    return 0;
}

/* The calendar files of the [worktime] calendar key, one by one. */
static void load_calendars(struct config *cfg, struct diag *d)
{
    const char *p = cfg->work.calendar;

    while (p && *p) {
        size_t len = strcspn(p, " \t,");
        char *name = len ? strndup(p, len) : NULL;
        char *path = name ? config_path(cfg, name) : NULL;

        if (path && worktime_load_calendar(&cfg->worktime, path, d) < 0)
            diag_error(d, cfg->path, cfg->work.calendar_line, 0,
                       "calendar: cannot read \"%s\": %s", path,
                       strerror(errno));
        free(name);
        free(path);
        p += len;
        p += strspn(p, " \t,");
    }
}

/* [worktime] as a struct worktime: its values were checked one by one as
 * they were read; what needs two of them (the lunch inside the hours) or
 * other files (the calendars) is checked here. */
static void build_worktime(struct config *cfg, int lunch_line,
                           struct diag *d)
{
    struct worktime *w = &cfg->worktime;
    char err[256];
    int from, to;

    worktime_free(w);
    worktime_init(w, cfg->work.timezone[0] ? cfg->work.timezone
                                           : cfg->delivery.timezone);
    worktime_parse_days(cfg->work.days, &w->days, err, sizeof err);
    worktime_parse_span(cfg->work.hours, &w->from, &w->to, err, sizeof err);
    if (cfg->work.lunch[0] &&
        worktime_parse_span(cfg->work.lunch, &from, &to, err, sizeof err) ==
            0 &&
        worktime_set_lunch(w, from, to, err, sizeof err) < 0)
        diag_error(d, cfg->path, lunch_line, 0, "lunch: %s", err);
    load_calendars(cfg, d);
}

int config_defaults(struct config *cfg)
{
    struct diag d = {0};

    memset(cfg, 0, sizeof *cfg);
    if (!(cfg->path = strdup("(defaults)")) || !(cfg->dir = strdup(".")) ||
        apply_defaults(cfg) < 0)
        return -1;
    build_worktime(cfg, 0, &d);
    diag_clear(&d);
    return 0;
}

/* The config's folder as an absolute path, so that relative paths keep
 * meaning the same after the daemon moves to /. */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir, *abs;

    if (!slash)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (!dir || !(abs = realpath(dir, NULL)))
        return dir;
    free(dir);
    return abs;
}

/* Checks that need the whole file: sections without a type, and so on. */
static void check_channels(struct config *cfg, struct diag *d)
{
    for (size_t i = 0; i < cfg->nchannels; i++) {
        struct conf_section *s = &cfg->channels[i];
        int has_type = 0;
        for (size_t j = 0; j < s->nkv; j++)
            has_type |= strcmp(s->kv[j].key, "type") == 0;
        if (!has_type)
            diag_error(d, s->file, s->line, 0,
                       "[channel.%s] has no type: use sms, email, wecom, "
                       "webhook or outbox",
                       s->name);
    }
}

/* A digest needs a channel that exists. */
static void check_digest(struct config *cfg, struct diag *d)
{
    if (!cfg->digest.at[0])
        return;
    if (!cfg->digest.channel[0])
        diag_error(d, cfg->path, cfg->digest.channel_line, 0,
                   "[digest] at = %s needs a channel: channel = NAME of a "
                   "[channel.NAME]",
                   cfg->digest.at);
    else if (!config_channel(cfg, cfg->digest.channel))
        diag_error(d, cfg->path, cfg->digest.channel_line, 0,
                   "channel: no [channel.%s] for the digest",
                   cfg->digest.channel);
}

int config_load(const char *path, struct config *cfg, struct diag *d)
{
    struct loader l;
    int errors_before = d->errors, rc;

    memset(cfg, 0, sizeof *cfg);
    if (!(cfg->path = strdup(path)) || !(cfg->dir = folder_of(path)))
        return -1;
    if (apply_defaults(cfg) < 0)
        return -1;
    memset(&l, 0, sizeof l);
    l.cfg = cfg;
    l.d = d;
    l.file = cfg->path;
    if (!(l.fp = fopen(path, "r"))) {
        diag_error(d, path, 0, 0, "cannot read the config: %s",
                   strerror(errno));
        return -1;
    }
    rc = ini_parse_stream(counting_reader, &l, handle_pair, &l);
    fclose(l.fp);
    if (rc > 0 && d->errors == errors_before)
        diag_error(d, path, rc, 0,
                   "syntax error: expected [section] or name = value");
    else if (rc < 0)
        diag_error(d, path, 0, 0, "out of memory reading the config");
    check_channels(cfg, d);
    if (d->errors == errors_before)
        build_worktime(cfg, l.lunch_line, d);
    check_digest(cfg, d);
    attrs_sort(&cfg->school);
    return d->errors == errors_before ? 0 : -1;
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < NKEYS; i++) {
        enum conf_type t = conf_keys[i].type;
        if (t == CT_STR || t == CT_PATH || t == CT_SECRET || t == CT_ADDR ||
            t == CT_LISTEN || t == CT_HOURS || t == CT_STAFF_HOURS ||
            t == CT_DAYS ||
            t == CT_SPAN || t == CT_ZONE || t == CT_URLPAT || t == CT_HHMM ||
            t == CT_WORDS || t == CT_NAMES || t == CT_DATES) {
            char **f = str_field(cfg, &conf_keys[i]);
            if (t == CT_SECRET && *f)
                explicit_bzero(*f, strlen(*f));
            free(*f);
        }
    }
    for (size_t i = 0; i < cfg->nchannels; i++) {
        struct conf_section *s = &cfg->channels[i];
        for (size_t j = 0; j < s->nkv; j++) {
            free(s->kv[j].key);
            free(s->kv[j].value);
        }
        free(s->kv);
        free(s->name);
    }
    free(cfg->channels);
    worktime_free(&cfg->worktime);
    attrs_clear(&cfg->school);
    free(cfg->path);
    free(cfg->dir);
    memset(cfg, 0, sizeof *cfg);
}
