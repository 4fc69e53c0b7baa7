/*
 * tmpl.h - the template engine's contract with the rest of nudge: load the
 * templates folder into a compiled set, find a template's part for a
 * channel type, render it for a student into the message a channel sends
 * (channels/channel.h), or learn why not ("missing owner.name").
 * docs/templates.md describes the files and the language.
 *
 * Typical use (the rule engine):
 *
 *     struct tmpl_set *set = tmpl_set_load(cfg->templates.dir, cfg, &d);
 *     struct tmpl_out out;
 *     tmpl_out_init(&out);
 *     const struct tmpl_part *part = tmpl_find(set, "welcome_pack", "sms");
 *     struct tmpl_ctx ctx = {.student = s, .owner = o, .cfg = cfg};
 *     switch (tmpl_render(part, &ctx, &out)) {
 *     case TMPL_OK:      tmpl_msg_to_chan(&out.msg, &cm); send...; break;
 *     case TMPL_MISSING: timeline "skipped", detail out.err; break;
 *     case TMPL_INVALID: timeline "failed", detail out.err; break;
 *     }
 *     tmpl_out_free(&out);
 *     tmpl_set_unref(set);
 *
 * Threads: a set is read-only once loaded, so any number of threads may
 * render from it at once, each with its own struct tmpl_out.
 *
 * The endpoint that receives unsubscribe clicks checks their tokens with
 * tmpl_unsub_verify() (templates/unsub.h).
 */
#ifndef NUDGE_TMPL_H
#define NUDGE_TMPL_H

#include <stddef.h>
#include <stdint.h>

#include "channels/channel.h"
#include "core/config.h"
#include "core/diag.h"
#include "core/msgclass.h"
#include "core/student.h"
#include "templates/buf.h"
#include "templates/render.h" /* enum tmpl_status, TMPL_VALUE_MAX */
#include "templates/sms.h"

/* The part types: one file suffix each. */
enum tmpl_type {
    TMPL_SMS,     /* NAME.sms */
    TMPL_EMAIL,   /* NAME.email (+ NAME.email.html) */
    TMPL_WECOM,   /* NAME.wecom */
    TMPL_WEBHOOK, /* NAME.webhook */
    TMPL_NTYPES
};

/* What a file of a templates folder holds, from its name: the part type,
 * or TMPL_NTYPES for NAME.email.html (the HTML of NAME.email); *name_len
 * gets the length of NAME. -1: not a template file. */
int tmpl_file_type(const char *file, size_t *name_len);

struct tmpl_set;  /* opaque: a compiled templates folder */
struct tmpl_part; /* opaque: one template's part for one channel type */

/* --- loading --------------------------------------------------------------- */
/* Loads and compiles every part in dir. cfg gives the [school] names
 * templates may use and the SMS segment limit (warnings); it may be NULL.
 * Returns a set holding one reference (release with tmpl_set_unref()), or
 * NULL with every error in d (warnings are added to d either way). To
 * reload, load a new set and swap it in when it is not NULL: a broken
 * reload keeps the old set. */
struct tmpl_set *tmpl_set_load(const char *dir, const struct config *cfg,
                               struct diag *d);
/* Reference counting (atomic), so a reload can swap the set while renders
 * still use the old one: each holder takes a reference and drops it. */
struct tmpl_set *tmpl_set_ref(struct tmpl_set *set);
void tmpl_set_unref(struct tmpl_set *set);

/* --- looking up -------------------------------------------------------------- */
/* "sms", "email", "wecom", "webhook" -> the type; -1 for anything else. */
int tmpl_type_parse(const char *type);
const char *tmpl_type_name(enum tmpl_type t);
/* The part of template name for a channel type ("sms" ...), or NULL when
 * the template or that part does not exist. Valid while the set is. */
const struct tmpl_part *tmpl_find(const struct tmpl_set *set,
                                  const char *name, const char *type);
/* The file a part was read from, its template's name, its type. */
const char *tmpl_part_file(const struct tmpl_part *part);
const char *tmpl_part_name(const struct tmpl_part *part);
enum tmpl_type tmpl_part_type(const struct tmpl_part *part);
/* The class the part declares with `Kind:` (core/msgclass.h); a part
 * without one is marketing, the safe side. */
enum msg_class tmpl_part_class(const struct tmpl_part *part);
/* The class a message of part goes out as: staff when it goes to staff
 * (notify, escalate, grouped alerts, the digest) whatever the part says,
 * else the part's own. The policy layer keys on this. */
enum msg_class tmpl_send_class(const struct tmpl_part *part, int to_staff);

/* --- rendering ----------------------------------------------------------------- */
/* What a message is rendered from. Only student is required. */
struct tmpl_ctx {
    const struct student *student;
    const struct staff *owner;      /* owner.X; NULL: they are missing */
    const struct staff *supervisor; /* supervisor.X; NULL: missing */
    const struct config *cfg;  /* [school] constants, [templates] unsubscribe
                                  URL and secret, SMS opt-out text */
    const char *to;   /* the recipient; NULL: the student's phone (sms),
                         email (email), wecom_userid or
                         wecom_external_userid (wecom) */
    const char *to_name; /* email To display name; NULL: the student's
                            name when to is NULL */
    const char *from; /* email From, e.g. the email channel's `from`;
                         NULL: "nudge <nudge@localhost>" */
    const char *key;  /* the send's idempotency key: the same key gives the
                         same Message-ID; NULL: a random one */
    int64_t now_ms;   /* the Date header; 0: now */
    int to_staff;     /* notify, escalate, alerts, digest: class staff
                         (tmpl_send_class), so no SMS opt-out text */
};

/* The rendered message. Strings point into the tmpl_out (or the part) and
 * stay valid until the next tmpl_render() into it or tmpl_out_free(). */
struct tmpl_msg {
    const char *type;    /* "sms", "email", "wecom", "webhook" */
    const char *to;      /* the recipient, or NULL (webhook) */
    const char *subject; /* email, one line, not yet RFC 2047 encoded */
    const char *body;    /* sms text (NULL for a provider template without
                            a preview), email text, wecom text, webhook JSON */
    const char *html;    /* email HTML, or NULL */
    const char *mime;    /* email: the whole RFC 5322 message */
    const char *format;  /* wecom: "text" or "markdown" */
    const char *provider_template; /* sms: the provider's template code */
    const char *provider_params;   /* sms: its parameters, a JSON object */
    const char *unsubscribe_url;   /* the signed link, when made */
    struct sms_info sms;           /* sms: encoding and segments of body */
};

/* A renderer's reusable buffers and its last result. One per thread. */
struct tmpl_out {
    struct tmpl_msg msg;
    char err[256]; /* TMPL_MISSING: "missing NAME"; TMPL_INVALID: why */
    /* private */
    struct tbuf buf, mime, scratch, link;
};

void tmpl_out_init(struct tmpl_out *out);
void tmpl_out_free(struct tmpl_out *out);

/* Renders part for ctx into out. TMPL_OK fills out->msg; otherwise
 * out->err says why (TMPL_MISSING: a value with no default is missing, the
 * step is skipped; TMPL_INVALID: a value nudge refuses, no unsubscribe
 * secret for an email, or out of memory). */
enum tmpl_status tmpl_render(const struct tmpl_part *part,
                             const struct tmpl_ctx *ctx, struct tmpl_out *out);

/* Copies the rendered fields into a channel message (type, to, subject,
 * body, html, mime, format, provider_template, provider_params), leaving
 * the rest (student, rule, step, key...) as they are. cm borrows msg's
 * strings. */
void tmpl_msg_to_chan(const struct tmpl_msg *msg, struct chan_msg *cm);

/* --- checking -------------------------------------------------------------------- */
/* The templates of a set, sorted by name. */
size_t tmpl_set_count(const struct tmpl_set *set);
const char *tmpl_set_name(const struct tmpl_set *set, size_t i);
/* The part of the i-th template of type t, or NULL. */
const struct tmpl_part *tmpl_set_part(const struct tmpl_set *set, size_t i,
                                      enum tmpl_type t);
/* Adds to required the names the i-th template's parts cannot render
 * without, and to optional the ones with a default or under a section or
 * tested by one ("tag:intent:high"). Returns 0, or -1 out of memory. */
int tmpl_set_needs(const struct tmpl_set *set, size_t i,
                   struct strset *required, struct strset *optional);

#endif
