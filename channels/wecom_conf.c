/*
 * wecom_conf.c - the wecom channel's keys (see wecom_conf.h).
 */
#include "channels/wecom_conf.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channels/ratelimit.h"
#include "core/duration.h"

#define DEFAULT_API_BASE "https://qyapi.weixin.qq.com"

/* One row per key: its setter and where its value goes (STYLE.md). */
struct conf_row {
    const char *key;
    int (*set)(const struct conf_row *row, const char *v,
               const struct config *cfg, void *field, char *err, size_t n);
    size_t offset;
    int provider_limit; /* rates: WeCom's own per minute, for a warning */
};

static int set_string(const struct conf_row *row, const char *v,
                      const struct config *cfg, void *field, char *err,
                      size_t n)
{
    return (*(char **)field = strdup(v)) ? 0 : -1;
}

static int set_secret(const struct conf_row *row, const char *v,
                      const struct config *cfg, void *field, char *err,
                      size_t n)
{
    return (*(char **)field = config_secret(cfg, v, err, n)) ? 0 : -1;
}

static int set_api_base(const struct conf_row *row, const char *v,
                        const struct config *cfg, void *field, char *err,
                        size_t n)
{
    size_t len = strlen(v);

    if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) {
        snprintf(err, n, "\"%s\" is not an http:// or https:// URL", v);
        return -1;
    }
    while (len > 0 && v[len - 1] == '/') /* "base/" + "/cgi-bin" */
        len--;
    return (*(char **)field = strndup(v, len)) ? 0 : -1;
}

static int set_agent_id(const struct conf_row *row, const char *v,
                        const struct config *cfg, void *field, char *err,
                        size_t n)
{
    char *end;
    long id = strtol(v, &end, 10);

    if (end == v || *end || id < 1) {
        snprintf(err, n,
                 "\"%s\" is not an app's AgentId (a number, "
                 "e.g. 1000002)",
                 v);
        return -1;
    }
    *(long *)field = id;
    return 0;
}

/* A duration ("30m") or plain seconds ("1800"), up to WeCom's 4 hours. */
static int set_interval(const struct conf_row *row, const char *v,
                        const struct config *cfg, void *field, char *err,
                        size_t n)
{
    char *end;
    int64_t ms;
    long s = strtol(v, &end, 10);

    if (end != v && !*end)
        ms = (int64_t)s * 1000;
    else if (duration_parse(v, &ms) < 0)
        ms = -1;
    if (ms < 1000 || ms > 14400 * 1000) {
        snprintf(err, n, "\"%s\": use 1s to 4h (14400 s), e.g. 30m", v);
        return -1;
    }
    *(long *)field = (long)(ms / 1000);
    return 0;
}

static int set_rate(const struct conf_row *row, const char *v,
                    const struct config *cfg, void *field, char *err, size_t n)
{
    struct wecom_rate *r = field;

    if (ratelimit_parse(v, &r->limit, &r->window_ms) < 0) {
        snprintf(err, n,
                 "\"%s\" is not a limit: write 30/m, or N over a "
                 "duration (10/2s)",
                 v);
        return -1;
    }
    return 0;
}

#define AT(f) offsetof(struct wecom_conf, f)

static const struct conf_row conf_rows[] = {
    {"api_base", set_api_base, AT(api_base), 0},
    {"corp_id", set_string, AT(corp_id), 0},
    {"agent_id", set_agent_id, AT(agent_id), 0},
    {"secret", set_secret, AT(secret), 0},
    {"robot_key", set_secret, AT(robot_key), 0},
    {"duplicate_check_interval", set_interval, AT(dup_interval_s), 0},
    {"member_rate", set_rate, AT(member_rate), 30},
    {"robot_rate", set_rate, AT(robot_rate), 20},
};

/* A limit above WeCom's lets messages through that WeCom then drops. */
static void warn_over_provider(const struct conf_row *row,
                               const struct wecom_conf *c,
                               struct conf_section *sec, struct diag *d)
{
    const struct wecom_rate *r = (const void *)((const char *)c + row->offset);

    if (row->provider_limit &&
        (double)r->limit * 60000 > (double)row->provider_limit * r->window_ms)
        diag_warning(d, sec->file, conf_section_line(sec, row->key), 0,
                     "%s: %d per %lld ms is over WeCom's %d a minute: WeCom "
                     "drops the rest without a word",
                     row->key, r->limit, (long long)r->window_ms,
                     row->provider_limit);
}

void wecom_conf_read(struct conf_section *sec, const struct config *cfg,
                     struct wecom_conf *c, struct diag *d)
{
    char err[200];

    c->dup_interval_s = 1800;
    c->member_rate = (struct wecom_rate){30, 60000};
    c->robot_rate = (struct wecom_rate){20, 60000};
    for (size_t i = 0; i < sizeof conf_rows / sizeof conf_rows[0]; i++) {
        const struct conf_row *row = &conf_rows[i];
        const char *v = conf_section_get(sec, row->key);
        if (!v)
            continue;
        err[0] = '\0';
        if (row->set(row, v, cfg, (char *)c + row->offset, err, sizeof err) < 0)
            diag_error(d, sec->file, conf_section_line(sec, row->key), 0,
                       "%s: %s", row->key, err[0] ? err : "out of memory");
        else
            warn_over_provider(row, c, sec, d);
    }
    if (!c->api_base)
        c->api_base = strdup(DEFAULT_API_BASE);
    /* An app needs all three; a channel of group robots needs none. */
    int given = !!c->corp_id + !!c->secret + !!c->agent_id;
    if (given != 0 && given != 3)
        diag_error(d, sec->file, sec->line, 0,
                   "[channel.%s]: corp_id, agent_id and secret go together "
                   "(or none of them, for a channel of group robots only)",
                   sec->name);
}

void wecom_conf_free(struct wecom_conf *c)
{
    free(c->api_base);
    free(c->corp_id);
    free(c->secret);
    free(c->robot_key);
}
