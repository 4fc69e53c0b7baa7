/*
 * config.h - the INI file of nudged and nudgectl (etc/nudged.conf is the
 * commented sample). Read with libinih; every key is a row of one table
 * in config.c with its type, default and place in struct config, so adding
 * a key is adding a row. [channel.NAME] sections are kept as key lists and
 * checked by the channel's own init (channels/channel.h), which claims the
 * keys it knows; whatever no one claims is an "unknown key" error.
 *
 * Ownership: config_load() fills a struct config that owns all its
 * strings; config_free() frees them. Relative paths are made relative to
 * the config file's folder. Secret values ("env:NAME", "file:PATH" or a
 * literal) are resolved at load and never logged.
 */
#ifndef NUDGE_CONFIG_H
#define NUDGE_CONFIG_H

#include <stdint.h>

#include "core/diag.h"
#include "core/msgclass.h"
#include "core/student.h"
#include "core/worktime.h"

struct conf_kv {
    char *key;
    char *value;
    int line;
    int used; /* set by conf_section_get() */
};

/* One [channel.NAME] section. */
struct conf_section {
    char *name; /* "sms" for [channel.sms] */
    int line;   /* the section header's line */
    const char *file;
    struct conf_kv *kv;
    size_t nkv, cap;
};

/* [leads] followup_by: whose followups make a lead `followed_up`. */
enum { LEADS_FOLLOWUP_ANY, LEADS_FOLLOWUP_OWNER };

struct config {
    char *path; /* as given */
    char *dir;  /* its folder, for relative paths */

    struct {
        char *address; /* host:port or unix:/path */
        char *prefix;
        char *password; /* resolved secret, or NULL */
        int db;
        int64_t connect_timeout_ms;
        int64_t timeout_ms; /* a command's answer, at most; 0: none */
        long timeline_maxlen; /* XADD MAXLEN ~ for each timeline */
    } redis;

    struct {
        char *pidfile;
        char *group;    /* consumer group on the events stream */
        char *consumer; /* this daemon's name in it; default host-pid */
        int batch;      /* events read per XREADGROUP */
        int64_t block_ms;
        int64_t claim_idle_ms; /* pending this long: its consumer is dead */
        long rejected_maxlen;  /* the rejected-events stream's cap */
        int log_level;
        int64_t stop_timeout_ms; /* SIGTERM: exit within this, whatever
                                    Redis and the providers do */
        char *test_clock; /* integration tests: the clock's file */
    } daemon;

    struct {
        char *dir;
        int64_t schedule_grace_ms;
        int max_chain; /* rule-caused events deeper than this are cut */
    } rules;

    struct {
        char *dir;
        int sms_max_segments;
        char *sms_optout_text;
        char *unsubscribe_url;
        char *unsubscribe_secret;
        char *allowed_attributes; /* the student attributes templates may
                                     use, space separated; "": any
                                     (docs/policy.md, data minimisation) */
    } templates;

    struct {
        char *listen; /* host:port, "" to disable */
        char *receipts_token; /* resolved secret for /receipts/sms, or
                                 NULL: no token asked */
        char *report_token;   /* resolved secret for /report (the
                                 supervisors' page); NULL or "": off */
        int64_t report_forecast_every_ms; /* the page's forecast is
                                             computed in the background
                                             this often; 0: off */
    } http;

    /* [channels] plugin_dir (a top-level field: `channels` below is the
     * list of [channel.NAME] sections): the folder of shared-object
     * channel drivers, or NULL or "" for none (channels/plugin.h). */
    char *plugin_dir;

    struct {
        int workers;
        int shards;
        int batch;
        int64_t lease_ms;
        int64_t retry_base_ms;
        int64_t retry_cap_ms;
        int max_attempts;
        int64_t max_sleep_ms;
        int max_held;     /* jobs waiting on a provider before workers
                             stop claiming more */
        int64_t drain_ms; /* SIGTERM: how long to wait for sends in
                             flight */
    } queue;

    struct {
        char *quiet_hours; /* marketing's: "21:00-08:00", "" for none */
        char *quiet_hours_service; /* service messages': "22:00-07:00" */
        char *quiet_hours_staff; /* staff messages': "working" (outside
                                    [worktime]), "HH:MM-HH:MM" in its
                                    zone, "" for none */
        char *blackout_service; /* the same for service messages */
        char *blackout;    /* dates with no marketing, the student's:
                              "2026-06-07..2026-06-10, ...", "" none */
        char *timezone;    /* default IANA zone of students */
        /* Frequency caps (rules/caps.h), messages to a student per local
         * day or week (Monday to Sunday), 0 = none: of every class ... */
        int max_per_day, max_per_week;
        /* ... and of one class (indexed by enum msg_class; staff's unused) */
        struct {
            int day, week;
        } class_max[MSG_NCLASSES];
        int over_cap_defer; /* over_cap = defer (1) | skip (0) */
        int64_t dedup_window_ms; /* one template to one student at most
                                    once in this long; 0 = off */
    } delivery;

    /* [worktime]: the school's working calendar, for `wait 24h working`
     * (core/worktime.h). The keys as written; `calendar` lists files
     * relative to the config's folder. */
    struct {
        char *days, *hours, *lunch, *timezone, *calendar;
        int calendar_line; /* of the calendar key, for messages; 0: none */
    } work;
    struct worktime worktime; /* built from them at load */
    struct {
        int followup_by;        /* LEADS_FOLLOWUP_ANY or _OWNER */
        char *open_stages;      /* the stages a lead is open in, space
                                   separated; "" = any stage */
        char *closed_tag;       /* a tag that closes a lead; "" = none */
        /* The follow-up deadline after assignment (nudgectl overdue):
         * ms, plus work_days working days, counted in [worktime]'s
         * working time when working ("24h working", "1d working"). */
        struct lead_deadline {
            int64_t ms;
            long work_days;
            int working;
        } followup_within;
    } leads;
    struct {
        int64_t group_wait_ms;      /* a new group's first lead waits */
        int64_t group_interval_ms;  /* between two messages of a group */
        int64_t repeat_interval_ms; /* before a lead is alerted again */
        char *crm_url; /* "https://crm/students/{id}", "" for no link */
    } alerts; /* [alerts]: grouped escalations (rules/alert.h) */

    struct {
        int64_t timeline_ms;   /* timeline entries older are trimmed; 0 keep */
        int students_per_tick; /* timelines trimmed per tick (SCAN COUNT) */
        int64_t events_ms;     /* slm:events span kept; 0: only what some
                                  group still needs (daemon/stream_trim.h) */
        int64_t interval_ms;   /* between two ticks */
    } retention; /* [retention]: daemon/retention.h */

    struct {
        char *at;      /* "HH:MM" in [delivery] timezone, "" for none */
        char *channel; /* the channel it goes through */
        int channel_line; /* where `channel` was set, for messages */
    } digest; /* [digest]: the supervisors' daily digest (rules/digest.h) */

    struct {
        char *optout_words, *optin_words; /* core/consent.h */
        int scope_all;           /* optout_scope = all (else channel) */
        char *confirm_template;  /* "" for no confirmation */
    } consent; /* [consent]: replies that opt out or in (core/consent.h) */

    struct {
        int counters;      /* keep the report's counters (1) or not (0) */
        int64_t window_ms; /* a start's reply, opt-out or later stage counts
                              this long after it */
        int min_students;  /* per arm, before a lift is given */
    } report; /* [report]: nudgectl report (rules/report.h) */

    struct attrs school; /* [school]: constants the templates can use */

    struct conf_section *channels;
    size_t nchannels;
};

/* Loads path into cfg. Returns 0, or -1 with every problem in d. */
int config_load(const char *path, struct config *cfg, struct diag *d);
/* Fills cfg with the defaults only (for tests and tools). */
int config_defaults(struct config *cfg);
void config_free(struct config *cfg);

/* Resolves a path value relative to the config's folder. Caller frees. */
char *config_path(const struct config *cfg, const char *value);

/* Resolves "env:NAME", "file:PATH" or a literal into a new string the
 * caller frees. Returns NULL with a reason in err (which never contains
 * the secret). */
char *config_secret(const struct config *cfg, const char *value, char *err,
                    size_t errlen);

/* --- channel sections -------------------------------------------------- */
/* The value of key, marking it used, or NULL. */
const char *conf_section_get(struct conf_section *s, const char *key);
/* The same without marking it (a key another part owns). */
const char *conf_section_peek(const struct conf_section *s, const char *key);
/* The line of key in the file (for messages), or the section's line. */
int conf_section_line(const struct conf_section *s, const char *key);
/* Adds an "unknown key" error to d for every key nobody asked for.
 * Returns the number of such keys. */
int conf_section_unused(const struct conf_section *s, struct diag *d);
/* The section named name, or NULL. */
struct conf_section *config_channel(const struct config *cfg,
                                    const char *name);

#endif
