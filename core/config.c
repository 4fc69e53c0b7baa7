/*
 * config.c - the key table of the INI config, and its loading.
 *
 * Every [section] key is one row of conf_keys[]: its type, where it goes
 * (offsetof) and its default; config_value.c checks and sets a value of
 * each type. libinih calls handle_pair() for each
 * name=value; a counting reader tells it the line, since Debian's libinih
 * is built without INI_HANDLER_LINENO.
 */
#include "core/config_int.h"

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

static const struct conf_key conf_keys[] = {
    {"redis", "address", CT_ADDR, OFF(redis.address), "127.0.0.1:6379", 0, 0},
    {"redis", "prefix", CT_STR, OFF(redis.prefix), "slm:", 0, 0},
    {"redis", "password", CT_SECRET, OFF(redis.password), NULL, 0, 0},
    {"redis", "db", CT_INT, OFF(redis.db), "0", 0, 1024},
    {"redis", "connect_timeout", CT_DURATION, OFF(redis.connect_timeout_ms),
     "2s", 0, 0},
    {"redis", "timeout", CT_DURATION, OFF(redis.timeout_ms), "5s", 0, 0},
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
    {"daemon", "stop_timeout", CT_DURATION, OFF(daemon.stop_timeout_ms),
     "10s", 0, 0},
    {"daemon", "test_clock", CT_PATH, OFF(daemon.test_clock), NULL, 0, 0},

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
    {"http", "report_token", CT_SECRET, OFF(http.report_token), NULL, 0, 0},
    {"http", "report_forecast_every", CT_DURATION,
     OFF(http.report_forecast_every_ms), "15m", 0, 0},

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
    {"queue", "drain", CT_DURATION, OFF(queue.drain_ms), "8s", 0, 0},

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
    {"retention", "events", CT_DURATION, OFF(retention.events_ms), "7d", 0,
     0},
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
    {"report", "counters", CT_CHOICE, OFF(report.counters), "yes", 0, 0},
    {"report", "window", CT_DURATION, OFF(report.window_ms), "14d", 0, 0},
    {"report", "min_students", CT_INT, OFF(report.min_students), "100", 1,
     1000000000},
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
        if ((*p == '#' || *p == ';') &&
            (p == value || isspace((unsigned char)p[-1])))
            break; /* "key =   # why": the value is empty */
        out[len++] = *p;
    }
    while (len > 0 && isspace((unsigned char)out[len - 1]))
        len--;
    if (len == 2 && out[0] == '"' && out[1] == '"')
        len = 0; /* key = "": written so to show it is empty on purpose */
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
        if (conf_type_is_string(t)) {
            char **f = conf_str_field(cfg, &conf_keys[i]);
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
