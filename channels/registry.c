/*
 * registry.c - the table of built-in channel drivers, and the configured
 * channels ([channel.NAME]) opened from it.
 */
#include "channels/channel.h"

#include <stdlib.h>
#include <string.h>

#include "channels/outbox.h"
#include "core/log.h"

static const struct chan_driver *const builtin[] = {
    &chan_outbox,
};

static const char *const builtin_types[] = {"outbox", NULL};

/* The message types an outbox may stand in for. */
static const char *const message_types[] = {"sms", "email", "wecom",
                                            "webhook", NULL};

const struct chan_driver *chan_driver_find(const char *type)
{
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (strcmp(builtin[i]->type, type) == 0)
            return builtin[i];
    return NULL;
}

const char *const *chan_driver_types(void)
{
    return builtin_types;
}

static int is_message_type(const char *s)
{
    for (int i = 0; message_types[i]; i++)
        if (strcmp(message_types[i], s) == 0)
            return 1;
    return 0;
}

/* The message type a channel writes: its own type, or for an outbox the
 * type named by its `as` key. NULL (with an error) when that is wrong. */
static const char *message_type_of(struct conf_section *sec, const char *type,
                                   struct diag *d)
{
    const char *as;

    if (strcmp(type, "outbox") != 0)
        return type;
    as = conf_section_get(sec, "as");
    if (!as) {
        diag_error(d, sec->file, sec->line, 0,
                   "[channel.%s]: an outbox needs `as = sms|email|wecom|"
                   "webhook`, the message type it writes",
                   sec->name);
        return NULL;
    }
    if (!is_message_type(as)) {
        diag_error(d, sec->file, conf_section_line(sec, "as"), 0,
                   "as: unknown message type \"%s\": use sms, email, wecom "
                   "or webhook",
                   as);
        return NULL;
    }
    return as;
}

static int open_one(const struct config *cfg, struct conf_section *sec,
                    struct channel *ch, struct diag *d)
{
    const char *type = conf_section_get(sec, "type"), *as;
    int errors = d->errors;

    if (!type)
        return -1; /* config_load() reported it */
    if (!(ch->drv = chan_driver_find(type))) {
        diag_error(d, sec->file, conf_section_line(sec, "type"), 0,
                   "type: unknown channel type \"%s\": use sms, email, "
                   "wecom, webhook or outbox",
                   type);
        return -1;
    }
    if (ch->drv->abi_version != CHAN_ABI_VERSION) {
        diag_error(d, sec->file, sec->line, 0,
                   "channel driver \"%s\" has ABI %d, nudge needs %d", type,
                   ch->drv->abi_version, CHAN_ABI_VERSION);
        return -1;
    }
    if (!(as = message_type_of(sec, type, d)))
        return -1;
    ch->name = strdup(sec->name);
    ch->type = strdup(type);
    ch->as = strdup(as);
    if (!ch->name || !ch->type || !ch->as)
        return -1;
    ch->self = ch->drv->init(sec, cfg, d);
    if (!ch->self)
        return -1;
    conf_section_unused(sec, d);
    return d->errors == errors ? 0 : -1;
}

static void close_one(struct channel *ch)
{
    if (ch->self && ch->drv)
        ch->drv->close(ch->self);
    free(ch->name);
    free(ch->type);
    free(ch->as);
    memset(ch, 0, sizeof *ch);
}

int channels_open(const struct config *cfg, struct channel_set *set,
                  struct diag *d)
{
    int failed = 0;

    set->n = 0;
    set->v = calloc(cfg->nchannels ? cfg->nchannels : 1, sizeof *set->v);
    if (!set->v)
        return -1;
    for (size_t i = 0; i < cfg->nchannels; i++) {
        if (open_one(cfg, &cfg->channels[i], &set->v[set->n], d) < 0) {
            close_one(&set->v[set->n]);
            failed = 1;
            continue;
        }
        set->n++;
    }
    if (failed) {
        channels_close(set);
        return -1;
    }
    return 0;
}

void channels_close(struct channel_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        close_one(&set->v[i]);
    free(set->v);
    set->v = NULL;
    set->n = 0;
}

struct channel *channels_find(const struct channel_set *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i].name, name) == 0)
            return &set->v[i];
    return NULL;
}

enum chan_status channel_send(struct channel *ch, const struct chan_msg *msg,
                              struct chan_result *res)
{
    struct chan_msg m = *msg;

    memset(res, 0, sizeof *res);
    m.channel = ch->name;
    if (!m.type)
        m.type = ch->as;
    return ch->drv->send(ch->self, &m, res);
}
