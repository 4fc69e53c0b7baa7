/*
 * channel.h - the plugin interface every way of reaching a person goes
 * through (sms, email, wecom, webhook, outbox, or a shared object from the
 * plugin folder), and the per-channel delivery queue in front of it.
 *
 * A channel driver is a const table of function pointers with an ABI
 * version, a type name and capability bits, found by type in one registry
 * (channels/registry.c), as nginx's modules and OpenSMTPD's table backends
 * are. A configured channel ([channel.NAME]) is an instance of a driver.
 *
 * Sending is asynchronous. Nobody waits on a provider:
 *
 *   rule step --channel_submit()--> delivery queue --drv->submit()--> driver
 *      (any thread, never blocks)   (channels/pacer.c:  (owns its I/O: a curl
 *                                    max_in_flight,      multi loop, a pool of
 *                                    rate, metrics)      SMTP sessions, ...)
 *                                                              |
 *   done(arg, result) <------------ pacer <------ done(arg, result)
 *   (exactly once, on a channel thread)
 *
 * channel_submit() copies the message into the channel's delivery queue
 * and returns at once. The queue's thread hands messages to the driver
 * while fewer than max_in_flight are out and the rate (`rate = 50/s`)
 * allows, so a driver needs no pacing of its own. drv->submit() must not
 * block either: it starts the I/O (or queues it on its own thread) and
 * returns; the driver calls done() exactly once per message with the
 * outcome, from any thread of its own (or from within submit() when the
 * outcome is known at once, as for the outbox). The message it was given
 * stays valid until it calls done().
 *
 * Threads: channel_submit() may be called from any thread. done() runs on
 * a channel thread: it must be quick and must not call back into the same
 * channel's close().
 */
#ifndef NUDGE_CHANNEL_H
#define NUDGE_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/diag.h"

#define CHAN_ABI_VERSION 2

/* Capability bits. */
#define CHAN_CAP_DEDUP 0x01 /* the provider drops a repeated idempotency
                               key itself: a send whose outcome is unknown
                               may be sent again (on_unknown = retry) */
#define CHAN_CAP_PROVIDER_TEMPLATES 0x02 /* sms providers with codes */
#define CHAN_CAP_RECEIPTS 0x04 /* delivery receipts come back by provider
                                  id (core/receipt.h) */

/* A message ready to go: rendered by templates/, addressed by the rule
 * engine. For drivers: every string stays valid until done() is called. */
struct chan_msg {
    const char *type;    /* the part rendered: "sms", "email", "wecom",
                            "webhook" */
    const char *student; /* student id */
    const char *channel; /* the configured channel's name */
    const char *to;      /* phone, email, WeCom user id or chat */
    const char *to_kind; /* wecom: "member" (wecom_userid), "external"
                            (wecom_external_userid) or "robot"; NULL
                            otherwise */
    const char *sender;  /* wecom external contacts: the owner's WeCom
                            user id who sends it; NULL otherwise */
    const char *subject; /* email */
    const char *body;    /* the text (sms, wecom, email text part,
                            webhook JSON) */
    const char *html;    /* email HTML part, or NULL */
    const char *mime;    /* email: the whole RFC 5322 message, or NULL */
    const char *format;  /* wecom: "text" or "markdown" */
    const char *provider_template; /* sms: the provider's template code */
    const char *provider_params;   /* sms: its parameters, a JSON object */
    const char *rule;
    const char *template_name;
    int step;                    /* from 1, as the timeline; -1: not a rule step */
    const char *idempotency_key; /* the same key: the same message */
};

enum chan_status {
    CHAN_OK = 0,        /* the provider accepted it (provider_id) */
    CHAN_TRANSIENT = 1, /* not sent; try again later (network error
                           before sending, 5xx, 429, a rate limit) */
    CHAN_PERMANENT = 2, /* never going to work (bad number, unknown
                           user, rejected template) */
    CHAN_UNKNOWN = 3,   /* the request left and no answer came: the
                           provider may or may not have it */
};

struct chan_result {
    enum chan_status status;
    int account;            /* the failure is the account's or the
                               gateway's, not the recipient's: a fallback
                               channel may do better */
    int64_t retry_after_ms; /* the provider's Retry-After, 0 if none */
    char provider_id[128];  /* the provider's message id, if any */
    char code[64];          /* the provider's answer code ("550",
                               "isv.MOBILE_NUMBER_ILLEGAL", "40014") */
    char error[256];        /* why it failed, masked, for the timeline */
};

/* Called exactly once per submitted message with its outcome. */
typedef void (*chan_done_fn)(void *arg, const struct chan_result *res);

/* What [channel.NAME] sets for every driver (channels/registry.c reads
 * these keys; a driver reads its own with conf_section_get()). */
struct chan_conf {
    const char *name;
    int64_t connect_timeout_ms; /* connect_timeout, default 5s */
    int64_t timeout_ms;         /* timeout: a whole request, default 15s */
    int tls_verify;             /* tls_verify = yes|no, default yes */
    const char *ca_file;        /* ca_file, ca_path: NULL for the system */
    const char *ca_path;        /* store */
    int max_in_flight;          /* default 200 */
};

struct chan_driver {
    int abi_version; /* CHAN_ABI_VERSION */
    const char *type;
    unsigned caps;
    /* Reads the section (conf_section_get() marks keys as known) and
     * returns the instance, or NULL with errors added to d. */
    void *(*init)(const struct chan_conf *cc, struct conf_section *sec,
                  const struct config *cfg, struct diag *d);
    /* Takes msg without blocking; calls done(arg, result) exactly once.
     * Called from one thread (the channel's delivery queue). */
    void (*submit)(void *self, const struct chan_msg *msg, chan_done_fn done,
                   void *arg);
    /* Ends what was submitted (each request has its timeout; done() is
     * called for every one before close() returns), then frees self. */
    void (*close)(void *self);
    void *spare[4]; /* room to grow without breaking the ABI */
};

/* The name a shared-object plugin exports its table under. */
#define CHAN_PLUGIN_SYMBOL "nudge_channel_driver"

struct pacer;

/* A configured channel: [channel.NAME]. */
struct channel {
    char *name;     /* the name the rules use: `send NAME template` */
    char *type;     /* the driver's type */
    char *as;       /* the message type it writes: its `as` key for an
                       outbox or a plugin ("sms" for an outbox standing
                       in for sms); equals type otherwise */
    char *fallback; /* fallback = NAME: another channel of the same
                       message type, tried once; NULL for none */
    int retry_unknown; /* on_unknown = retry (1) | skip (0) */
    int max_per_day, max_per_week; /* messages to a student on this
                                      channel (rules/caps.h), 0: none */
    double price_per_segment; /* [channel.NAME] price_per_segment: the
                                 cost of an SMS segment, 0: not set */
    char *from;        /* `from` (email): the From the templates write;
                          NULL for none */
    const struct chan_driver *drv;
    void *self;
    struct pacer *pacer; /* the delivery queue in front of the driver */
    void *dl;            /* dlopen() handle of a plugin, or NULL */
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
/* Opens every [channel.*] of cfg and starts their delivery queues.
 * Returns 0, or -1 with errors in d (then nothing is left open). The
 * caller closes with channels_close(). */
int channels_open(const struct config *cfg, struct channel_set *set,
                  struct diag *d);
/* Stops taking messages (channel_submit() then returns -1) and ends every
 * message in hand: done() is called for each, those not yet handed to a
 * driver as CHAN_TRANSIENT. The set stays valid until channels_close(). */
void channels_stop(struct channel_set *set);
/* channels_stop(), then closes the drivers and frees the set. */
void channels_close(struct channel_set *set);
/* [channel.NAME]'s frequency caps (max_per_day, max_per_week) into ch;
 * a bad value is an error in d. channels_open() reads them so; a tool
 * that opens no channel (`nudgectl simulate`) can too. */
void channel_read_caps(struct conf_section *sec, struct channel *ch,
                       struct diag *d);
/* [channel.NAME] price_per_segment (a decimal in the school's currency,
 * what one SMS segment costs; nudgectl forecast prices with it) into
 * *price: 1 read, 0 absent (*price = 0), -1 bad (an error in d). */
int channel_read_price(struct conf_section *sec, double *price,
                       struct diag *d);
/* The channel named name, or NULL. */
struct channel *channels_find(const struct channel_set *set,
                              const char *name);

/* --- sending ------------------------------------------------------------ */
/* Hands msg to ch: the message is copied, and done(arg, result) is called
 * exactly once, from a channel thread, with its outcome. Never blocks.
 * Returns 0, or -1 when the channel is closing or out of memory (then
 * done is not called). msg->channel and an unset msg->type are filled in
 * from ch. */
int channel_submit(struct channel *ch, const struct chan_msg *msg,
                   chan_done_fn done, void *arg);
/* Submits and waits for the outcome (for tools and tests; the daemon
 * never waits). Returns res->status. */
enum chan_status channel_send_wait(struct channel *ch,
                                   const struct chan_msg *msg,
                                   struct chan_result *res);
/* Messages handed to the driver and not yet done, plus those waiting in
 * the delivery queue. */
void channel_load(const struct channel *ch, int *in_flight, int *waiting);

/* --- for drivers -------------------------------------------------------- */
struct json_t;
/* Sets res->provider_id from obj's member field, a string or an integer
 * (a JSON answer's "id"). Returns 1 set, 0 absent or of another type. */
int chan_result_json_id(struct chan_result *res, const struct json_t *obj,
                        const char *field);
/* Fills res as a failure of status with a printf-style reason. */
void chan_result_fail(struct chan_result *res, enum chan_status status,
                      const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
