/*
 * channel.h - the plugin interface every way of reaching a person goes
 * through (sms, email, wecom, webhook, outbox, or a shared object from the
 * plugin folder).
 *
 * A channel driver is a const table of function pointers with an ABI
 * version, a type name and capability bits, found by type in one registry
 * (channels/registry.c), as nginx's modules and OpenSMTPD's table backends
 * are. A configured channel ([channel.NAME] in the config) is an instance
 * of a driver: init() reads its section, send() delivers one rendered
 * message, close() frees it.
 *
 * Threads: one instance may be used by one thread at a time; the dispatcher
 * opens an instance per worker when a driver lacks CHAN_CAP_THREADSAFE.
 */
#ifndef NUDGE_CHANNEL_H
#define NUDGE_CHANNEL_H

#include <stddef.h>

#include "core/config.h"
#include "core/diag.h"

#define CHAN_ABI_VERSION 1

/* Capability bits. */
#define CHAN_CAP_THREADSAFE 0x01 /* send() may run on many threads at once */
#define CHAN_CAP_BATCH 0x02      /* keeps a session for many messages */
#define CHAN_CAP_PROVIDER_TEMPLATES 0x04 /* sms providers with codes */

/* A message ready to go: rendered by templates/, addressed by the rule
 * engine. Strings are borrowed for the duration of send(). */
struct chan_msg {
    const char *type;    /* the part rendered: "sms", "email", "wecom",
                            "webhook" */
    const char *student; /* student id */
    const char *channel; /* the configured channel's name (set by
                            channel_send()) */
    const char *to;      /* phone, email, WeCom user id or chat */
    const char *subject; /* email */
    const char *body;    /* the text (sms, wecom, email text part) */
    const char *html;    /* email HTML part, or NULL */
    const char *mime;    /* email: the whole RFC 5322 message, or NULL */
    const char *format;  /* wecom: "text" or "markdown" */
    const char *provider_template; /* sms: the provider's template code */
    const char *provider_params;   /* sms: its parameters, a JSON object */
    const char *rule;
    const char *template_name;
    int step;
    const char *idempotency_key; /* the same key: the same message */
};

enum chan_status {
    CHAN_OK = 0,
    CHAN_TRANSIENT = 1, /* try again later (timeout, 5xx, rate limit) */
    CHAN_PERMANENT = 2, /* never going to work (bad number, 4xx) */
};

struct chan_result {
    enum chan_status status;
    char provider_id[128]; /* the provider's message id, if any */
    char error[256];       /* why it failed, masked, for the timeline */
};

struct chan_driver {
    int abi_version; /* CHAN_ABI_VERSION */
    const char *type;
    unsigned caps;
    /* Reads the section (conf_section_get() marks keys as known) and
     * returns the instance, or NULL with errors added to d. */
    void *(*init)(struct conf_section *sec, const struct config *cfg,
                  struct diag *d);
    /* Sends one message; fills res. Returns res->status. */
    enum chan_status (*send)(void *self, const struct chan_msg *msg,
                             struct chan_result *res);
    void (*close)(void *self);
    void *spare[4]; /* room to grow without breaking the ABI */
};

/* A configured channel: [channel.NAME]. */
struct channel {
    char *name;       /* the name the rules use: `send NAME template` */
    char *type;       /* the driver's type */
    char *as;         /* the message type it writes ("sms" for an outbox
                         standing in for sms); equals type otherwise */
    const struct chan_driver *drv;
    void *self;
};

struct channel_set {
    struct channel *v;
    size_t n;
};

/* --- registry ---------------------------------------------------------- */
/* The built-in driver of this type, or NULL. */
const struct chan_driver *chan_driver_find(const char *type);
/* The names of all built-in types, NULL-terminated (for hints). */
const char *const *chan_driver_types(void);

/* --- configured channels ------------------------------------------------ */
/* Opens every [channel.*] of cfg. Returns 0, or -1 with errors in d (then
 * nothing is left open). The caller closes with channels_close(). */
int channels_open(const struct config *cfg, struct channel_set *set,
                  struct diag *d);
void channels_close(struct channel_set *set);
/* The channel named name, or NULL. */
struct channel *channels_find(const struct channel_set *set,
                              const char *name);

/* Sends through ch, filling res. Returns res->status. */
enum chan_status channel_send(struct channel *ch, const struct chan_msg *msg,
                              struct chan_result *res);

#endif
