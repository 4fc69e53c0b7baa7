/*
 * wecom_conf.h - the keys of a [channel.NAME] section of type wecom, read
 * through one table of rows (key, setter, place), as STYLE.md asks.
 * docs/channels.md lists them with their defaults.
 *
 * Ownership: wecom_conf_read() fills a struct wecom_conf whose strings
 * (secrets included) are its own; wecom_conf_free() frees them.
 */
#ifndef NUDGE_CHANNELS_WECOM_CONF_H
#define NUDGE_CHANNELS_WECOM_CONF_H

#include <stdint.h>

#include "core/config.h"
#include "core/diag.h"

/* A limit: at most `limit` sends per `window_ms` to one key. */
struct wecom_rate {
    int limit;
    int64_t window_ms;
};

struct wecom_conf {
    char *api_base;         /* without a trailing slash */
    char *corp_id, *secret; /* NULL: a channel of group robots only */
    char *robot_key;        /* NULL: messages name their robot */
    long agent_id;          /* 0 with corp_id */
    long dup_interval_s;    /* duplicate_check_interval */
    struct wecom_rate member_rate, robot_rate;
};

/* Reads sec into c (defaults for what it leaves out). Problems go to d
 * as errors (and warnings, for a limit above WeCom's own). */
void wecom_conf_read(struct conf_section *sec, const struct config *cfg,
                     struct wecom_conf *c, struct diag *d);
void wecom_conf_free(struct wecom_conf *c);

#endif
