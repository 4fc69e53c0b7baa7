/*
 * sms_form.h - the three ways the sms driver (sms.c) talks to a gateway:
 * `form = generic | aliyun | tencent`. A form reads its keys, writes the
 * request for one message and reads the answer; sms.c does the checks
 * every form shares (the number, the message), the HTTP (httpc) and the
 * HTTP-level classes. Forms are pure: the time and nonce come in, nothing
 * goes out, so the tests can check a request and an answer's class
 * without a network (tests/unit/test_sms_form.c).
 *
 *   sms.c --sms_form.request(conf, send)--> struct sms_http (url, headers,
 *         <--sms_form.answer(conf, status, body, res)--   body)
 *
 * The forms' code tables (provider code -> outcome class) live in their
 * files: sms_generic.c, sms_aliyun.c, sms_tencent.c.
 */
#ifndef NUDGE_SMS_FORM_H
#define NUDGE_SMS_FORM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "channels/channel.h"
#include "core/config.h"
#include "core/diag.h"

/* One message as a form sends it. */
struct sms_send {
    const struct chan_msg *msg;
    const char *to;    /* the number, E.164 (+8613812345678) */
    int64_t now_s;     /* UNIX seconds, for the signatures */
    const char *nonce; /* a fresh random token per request */
};

#define SMS_MAX_HEADERS 10

/* The request a form writes. Owns its strings: sms_http_free(). */
struct sms_http {
    char *url;
    char *body;
    size_t len;
    char *headers[SMS_MAX_HEADERS]; /* "Name: value" */
    size_t nheaders;
};

struct sms_form {
    const char *name;
    /* Reads the form's keys from sec; returns its settings, or NULL with
     * errors in d. */
    void *(*init)(struct conf_section *sec, const struct config *cfg,
                  struct diag *d);
    void (*free)(void *conf);
    /* Writes the request for s into out. Returns 0, or -1 with res filled
     * (a message this form cannot send, or no memory). */
    int (*request)(const void *conf, const struct sms_send *s,
                   struct sms_http *out, struct chan_result *res);
    /* Reads an answer that came back (status != 0). Returns 1 with res
     * filled when the body (or status) says the provider's own outcome,
     * 0 when it says nothing this form knows (the HTTP class stands). */
    int (*answer)(const void *conf, long status, const char *body,
                  struct chan_result *res);
};

extern const struct sms_form sms_form_generic, sms_form_aliyun,
    sms_form_tencent;

/* --- for forms: settings as a table of keys ----------------------------- */
enum sms_key_kind {
    SMS_KEY_TEXT,
    SMS_KEY_SECRET, /* resolved by config_secret(), never printed */
    SMS_KEY_URL,    /* http:// or https:// */
};

struct sms_key {
    const char *key;
    int required;
    enum sms_key_kind kind;
    const char *dflt; /* NULL: none */
    size_t offset;    /* of a char * in the form's settings */
};

/* Reads every row into the settings at base: missing required keys and
 * unreadable secrets are "file:line: key: ..." errors in d. Returns the
 * number of errors added. */
int sms_keys_read(struct conf_section *sec, const struct config *cfg,
                  const struct sms_key *rows, size_t n, void *base,
                  struct diag *d);
/* Frees the strings the rows point at in base. */
void sms_keys_free(const struct sms_key *rows, size_t n, void *base);

/* --- for forms: answer codes -------------------------------------------- */
/* A provider code and the class it means. A code ending in "." is a
 * prefix: "LimitExceeded." matches every LimitExceeded.X. The table ends
 * with a row whose code is NULL: the class of codes not in it. */
struct sms_code {
    const char *code;
    enum chan_status status;
    int account; /* the account's or gateway's failure, not the number's */
};

/* The row for code (first match in table order). */
const struct sms_code *sms_code_find(const struct sms_code *table,
                                     const char *code);
/* Fills res from the row for code: status, account, code, and error =
 * "form: CODE: message" with phone numbers in message masked. */
void sms_code_apply(const struct sms_code *table, const char *form,
                    const char *code, const char *message,
                    struct chan_result *res);

/* --- for forms: requests ------------------------------------------------ */
/* Adds a printf-formatted header. 0 or -1. */
int sms_http_header(struct sms_http *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sms_http_free(struct sms_http *h);
/* The host[:port] of url as a Host header carries it, into out. 0 or -1. */
int sms_url_host(const char *url, char *out, size_t n);
/* Fills res as a permanent failure for a message this form cannot send:
 * "template X has no provider template code for FORM". */
void sms_no_template(const struct sms_send *s, const char *form,
                     struct chan_result *res);
/* The message's provider_params as a JSON object (a new reference; an
 * empty object when it has none). NULL with res filled (permanent) when
 * it is not a JSON object. */
json_t *sms_params(const struct sms_send *s, const char *form,
                   struct chan_result *res);
/* A string member of a JSON object, or NULL. */
const char *sms_json_str(json_t *obj, const char *key);
/* The answer body as a JSON object, or NULL when it is not one. The
 * caller json_decref()s it. */
json_t *sms_json_answer(const char *body);

#endif
