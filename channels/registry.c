/*
 * registry.c - the table of built-in channel drivers, and the configured
 * channels ([channel.NAME]) opened from it: the keys every channel has
 * (timeouts, TLS, max_in_flight, rate, fallback, on_unknown, the
 * frequency caps max_per_day and max_per_week), the driver's init, and
 * the delivery queue (pacer.c) in front of it. A type not built in is
 * looked for as a plugin (plugin.c).
 */
#include "channels/channel.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channels/email.h"
#include "channels/outbox.h"
#include "channels/pacer.h"
#include "channels/plugin.h"
#include "channels/sms.h"
#include "channels/webhook.h"
#include "channels/wecom.h"
#include "core/duration.h"
#include "core/log.h"

static const struct chan_driver *const builtin[] = {
    &chan_outbox,
    &chan_sms,
    &chan_email,
    &chan_wecom,
    &chan_webhook,
};

static const char *const builtin_types[] = {"outbox", "sms",     "email",
                                            "wecom",  "webhook", NULL};

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

/* The message type a channel writes: its own type when that is one (sms,
 * email, ...), else (an outbox, a plugin) the type named by its `as` key.
 * NULL (with an error) when that is wrong. */
static const char *message_type_of(struct conf_section *sec, const char *type,
                                   struct diag *d)
{
    const char *as;

    if (is_message_type(type))
        return type;
    as = conf_section_get(sec, "as");
    if (!as) {
        diag_error(d, sec->file, sec->line, 0,
                   "[channel.%s]: a channel of type %s needs `as = sms|"
                   "email|wecom|webhook`, the message type it writes",
                   sec->name, type);
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

/* --- the keys every channel has --------------------------------------------- */

/* What open_one() reads before the driver's init. */
struct common {
    struct chan_conf cc;
    char *ca_file, *ca_path; /* owned: cc points at them */
    double rate;
    int retry_unknown; /* -1: the driver's default */
};

static int parse_bool(const char *v, int *out)
{
    static const struct {
        const char *name;
        int value;
    } words[] = {{"yes", 1}, {"true", 1}, {"on", 1},
                 {"no", 0},  {"false", 0}, {"off", 0}};

    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(v, words[i].name) == 0) {
            *out = words[i].value;
            return 0;
        }
    return -1;
}

static void read_duration(struct conf_section *sec, const char *key,
                          int64_t *ms, struct diag *d)
{
    const char *v = conf_section_get(sec, key);

    if (v && duration_parse(v, ms) < 0)
        diag_error(d, sec->file, conf_section_line(sec, key), 0,
                   "%s: invalid duration \"%s\": use ms, s or m, e.g. 10s",
                   key, v);
}

/* A whole number from min to max at key, when the section has it. */
static void read_count(struct conf_section *sec, const char *key, long min,
                       long max, int *out, struct diag *d)
{
    const char *v = conf_section_get(sec, key);
    char *end;
    long n;

    if (!v)
        return;
    n = strtol(v, &end, 10);
    if (end == v || *end || n < min || n > max)
        diag_error(d, sec->file, conf_section_line(sec, key), 0,
                   "%s: \"%s\" is not a number from %ld to %ld", key, v,
                   min, max);
    else
        *out = (int)n;
}

void channel_read_caps(struct conf_section *sec, struct channel *ch,
                       struct diag *d)
{
    read_count(sec, "max_per_day", 0, 1000, &ch->max_per_day, d);
    read_count(sec, "max_per_week", 0, 10000, &ch->max_per_week, d);
}

/* A price in the school's currency: a decimal from 0 to 1000, at most
 * six places ("0.045"). */
int channel_read_price(struct conf_section *sec, double *price,
                       struct diag *d)
{
    const char *v = conf_section_get(sec, "price_per_segment");
    const char *dot;
    char *end;
    double x;

    *price = 0;
    if (!v)
        return 0;
    x = strtod(v, &end);
    dot = strchr(v, '.');
    if (end == v || *end || !(x >= 0 && x <= 1000) || strchr(v, 'e') ||
        strchr(v, 'E') || (dot && strlen(dot + 1) > 6) || v[0] == '-' ||
        v[0] == '+') {
        diag_error(d, sec->file, conf_section_line(sec, "price_per_segment"),
                   0,
                   "price_per_segment: \"%s\" is not a price: write a "
                   "decimal from 0 to 1000, e.g. 0.045",
                   v);
        return -1;
    }
    *price = x;
    return 1;
}

static void read_common(const struct config *cfg, struct conf_section *sec,
                        struct common *c, struct diag *d)
{
    const char *v;

    memset(c, 0, sizeof *c);
    c->cc.name = sec->name;
    c->cc.connect_timeout_ms = 5000;
    c->cc.timeout_ms = 15000;
    c->cc.tls_verify = 1;
    c->cc.max_in_flight = 200;
    c->retry_unknown = -1;
    read_duration(sec, "connect_timeout", &c->cc.connect_timeout_ms, d);
    read_duration(sec, "timeout", &c->cc.timeout_ms, d);
    if ((v = conf_section_get(sec, "tls_verify")) &&
        parse_bool(v, &c->cc.tls_verify) < 0)
        diag_error(d, sec->file, conf_section_line(sec, "tls_verify"), 0,
                   "tls_verify: \"%s\" is not yes or no", v);
    if ((v = conf_section_get(sec, "ca_file")))
        c->cc.ca_file = c->ca_file = config_path(cfg, v);
    if ((v = conf_section_get(sec, "ca_path")))
        c->cc.ca_path = c->ca_path = config_path(cfg, v);
    read_count(sec, "max_in_flight", 1, 100000, &c->cc.max_in_flight, d);
    if ((v = conf_section_get(sec, "rate")) && *v &&
        pacer_rate_parse(v, &c->rate) < 0)
        diag_error(d, sec->file, conf_section_line(sec, "rate"), 0,
                   "rate: \"%s\" is not a rate: write 50/s, 3000/m or "
                   "100000/h",
                   v);
    if ((v = conf_section_get(sec, "on_unknown"))) {
        if (strcmp(v, "retry") == 0 || strcmp(v, "skip") == 0)
            c->retry_unknown = strcmp(v, "retry") == 0;
        else
            diag_error(d, sec->file, conf_section_line(sec, "on_unknown"), 0,
                       "on_unknown: \"%s\": use retry (the provider drops "
                       "duplicates) or skip",
                       v);
    }
}

static void free_common(struct common *c)
{
    free(c->ca_file);
    free(c->ca_path);
}

/* --- opening -------------------------------------------------------------- */


static int open_one(const struct config *cfg, struct conf_section *sec,
                    struct channel *ch, struct diag *d)
{
    const char *type = conf_section_get(sec, "type"), *as, *fb, *from;
    int errors = d->errors;
    struct common c;

    if (!type)
        return -1; /* config_load() reported it */
    if (!(ch->drv = chan_driver_find(type)) &&
        chan_plugin_open(cfg, sec, type, &ch->drv, &ch->dl, d) < 0)
        return -1; /* neither built in nor a plugin: it said why */
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
    fb = conf_section_get(sec, "fallback");
    ch->fallback = fb && *fb ? strdup(fb) : NULL;
    /* The email driver reads `from` for the envelope; the templates
     * write it in the message's From header. Not marked used here, so
     * that a channel whose driver has no use for it still hears so. */
    from = conf_section_peek(sec, "from");
    ch->from = from && *from ? strdup(from) : NULL;
    if (!ch->name || !ch->type || !ch->as)
        return -1;
    read_common(cfg, sec, &c, d);
    if (d->errors == errors)
        ch->self = ch->drv->init(&c.cc, sec, cfg, d);
    channel_read_caps(sec, ch, d);
    channel_read_price(sec, &ch->price_per_segment, d);
    ch->retry_unknown = c.retry_unknown >= 0
                            ? c.retry_unknown
                            : (ch->drv->caps & CHAN_CAP_DEDUP) != 0;
    if (ch->self && !c.cc.tls_verify)
        log_warnx("channel %s: TLS certificates are NOT verified "
                  "(tls_verify = no): anyone on the path can read and "
                  "change its messages",
                  ch->name);
    if (ch->self && !(ch->pacer = pacer_new(ch, c.cc.max_in_flight, c.rate)))
        diag_error(d, sec->file, sec->line, 0,
                   "[channel.%s]: cannot start its delivery queue", ch->name);
    free_common(&c);
    if (!ch->self)
        return -1;
    conf_section_unused(sec, d);
    return d->errors == errors ? 0 : -1;
}

/* Ends what the channel has in hand; it takes no more messages. */
static void stop_one(struct channel *ch)
{
    if (ch->pacer)
        pacer_stop(ch->pacer);
    if (ch->self && ch->drv)
        ch->drv->close(ch->self);
    ch->self = NULL;
}

static void close_one(struct channel *ch)
{
    stop_one(ch);
    pacer_free(ch->pacer);
    chan_plugin_close(ch->dl); /* after close: the driver's code is there */
    free(ch->name);
    free(ch->type);
    free(ch->as);
    free(ch->fallback);
    free(ch->from);
    memset(ch, 0, sizeof *ch);
}

/* A fallback names another channel of the same message type. */
static void check_fallbacks(const struct config *cfg, struct channel_set *set,
                            struct diag *d)
{
    for (size_t i = 0; i < set->n; i++) {
        struct channel *ch = &set->v[i], *fb;
        struct conf_section *sec = config_channel(cfg, ch->name);
        int line = sec ? conf_section_line(sec, "fallback") : 0;
        const char *file = sec ? sec->file : cfg->path;

        if (!ch->fallback)
            continue;
        if (!(fb = channels_find(set, ch->fallback)))
            diag_error(d, file, line, 0,
                       "fallback: no channel \"%s\": name a [channel.NAME] "
                       "section",
                       ch->fallback);
        else if (fb == ch)
            diag_error(d, file, line, 0,
                       "fallback: channel %s cannot be its own fallback",
                       ch->name);
        else if (strcmp(fb->as, ch->as) != 0)
            diag_error(d, file, line, 0,
                       "fallback: channel %s writes %s, but %s writes %s: a "
                       "fallback must carry the same message type",
                       ch->fallback, fb->as, ch->name, ch->as);
    }
}

int channels_open(const struct config *cfg, struct channel_set *set,
                  struct diag *d)
{
    int failed = 0, errors = d->errors;

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
    if (!failed)
        check_fallbacks(cfg, set, d);
    if (failed || d->errors != errors) {
        channels_close(set);
        return -1;
    }
    return 0;
}

void channels_stop(struct channel_set *set)
{
    /* Every queue first: a fallback may still submit to another. */
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i].pacer)
            pacer_stop(set->v[i].pacer);
    for (size_t i = 0; i < set->n; i++)
        stop_one(&set->v[i]);
}

void channels_close(struct channel_set *set)
{
    channels_stop(set);
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

/* --- sending -------------------------------------------------------------- */

int channel_submit(struct channel *ch, const struct chan_msg *msg,
                   chan_done_fn done, void *arg)
{
    struct chan_msg m = *msg;

    m.channel = ch->name;
    if (!m.type)
        m.type = ch->as;
    return pacer_submit(ch->pacer, &m, done, arg);
}

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    struct chan_result *res;
};

static void wake_waiter(void *arg, const struct chan_result *res)
{
    struct waiter *w = arg;

    pthread_mutex_lock(&w->mu);
    *w->res = *res;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

enum chan_status channel_send_wait(struct channel *ch,
                                   const struct chan_msg *msg,
                                   struct chan_result *res)
{
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0,
                       res};

    memset(res, 0, sizeof *res);
    if (channel_submit(ch, msg, wake_waiter, &w) < 0) {
        chan_result_fail(res, CHAN_TRANSIENT, "closing",
                         "channel %s is closing or out of memory", ch->name);
        return res->status;
    }
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return res->status;
}

void channel_load(const struct channel *ch, int *in_flight, int *waiting)
{
    pacer_load(ch->pacer, in_flight, waiting);
}

int chan_result_json_id(struct chan_result *res, const json_t *obj,
                        const char *field)
{
    json_t *id = json_object_get(obj, field);

    if (json_is_string(id))
        snprintf(res->provider_id, sizeof res->provider_id, "%s",
                 json_string_value(id));
    else if (json_is_integer(id))
        snprintf(res->provider_id, sizeof res->provider_id, "%lld",
                 (long long)json_integer_value(id));
    else
        return 0;
    return 1;
}

void chan_result_fail(struct chan_result *res, enum chan_status status,
                      const char *code, const char *fmt, ...)
{
    va_list ap;

    res->status = status;
    snprintf(res->code, sizeof res->code, "%s", code ? code : "");
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
}
