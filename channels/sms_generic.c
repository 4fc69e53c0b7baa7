/*
 * sms_generic.c - the generic form of the sms driver: a JSON POST to the
 * site's own gateway (see sms_form.h and docs/channels.md):
 *
 *   POST url
 *   Authorization: Bearer TOKEN | Basic base64(user:password)
 *   Idempotency-Key: KEY
 *   {"to":"+8613812345678","text":"...","sender":"...",
 *    "idempotency_key":"KEY","callback_url":"..."}
 *
 * A message with a provider template and no text sends "template" and
 * "params" instead of "text". A 2xx answer is sent; its "id" is the
 * provider id receipts come back by. An error answer may name its cause
 * in "code" (the table below); otherwise its HTTP status decides.
 */
#include "channels/sms_form.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "channels/sms_sign.h"

enum generic_auth { AUTH_BEARER, AUTH_BASIC, AUTH_NONE };

struct generic {
    char *url, *auth_name, *token, *username, *password, *sender, *callback_url;
    enum generic_auth auth;
    char *basic; /* base64(username:password) */
};

#define KEY(name, req, kind, dflt)                                             \
    {                                                                          \
#name, req, kind, dflt, offsetof(struct generic, name)                 \
    }
static const struct sms_key generic_keys[] = {
    KEY(url, 1, SMS_KEY_URL, NULL),
    {"auth", 0, SMS_KEY_TEXT, "bearer", offsetof(struct generic, auth_name)},
    KEY(token, 0, SMS_KEY_SECRET, NULL),
    KEY(username, 0, SMS_KEY_TEXT, NULL),
    KEY(password, 0, SMS_KEY_SECRET, NULL),
    KEY(sender, 0, SMS_KEY_TEXT, NULL),
    KEY(callback_url, 0, SMS_KEY_URL, NULL),
};
#define NKEYS (sizeof generic_keys / sizeof generic_keys[0])

static const struct {
    const char *name;
    enum generic_auth auth;
} auth_names[] = {
    {"bearer", AUTH_BEARER}, {"basic", AUTH_BASIC}, {"none", AUTH_NONE}};

/* What a provider code in an error answer's "code" means. */
static const struct sms_code generic_codes[] = {
    /* the number: never going to work */
    {"invalid_number", CHAN_PERMANENT, 0},
    {"unknown_recipient", CHAN_PERMANENT, 0},
    {"blocked_recipient", CHAN_PERMANENT, 0},
    /* the gateway asks us to slow down */
    {"rate_limited", CHAN_TRANSIENT, 0},
    /* the account: another channel may do better */
    {"insufficient_balance", CHAN_PERMANENT, 1},
    {"unauthorized", CHAN_PERMANENT, 1},
    {"rejected_content", CHAN_PERMANENT, 1},
    /* the gateway's own trouble */
    {"unavailable", CHAN_TRANSIENT, 1},
    /* a code not listed: the HTTP status decides (see generic_answer) */
    {NULL, CHAN_TRANSIENT, 0},
};

static void generic_free(void *conf)
{
    struct generic *g = conf;

    if (!g)
        return;
    sms_keys_free(generic_keys, NKEYS, g);
    if (g->basic)
        memset(g->basic, 0, strlen(g->basic));
    free(g->basic);
    free(g);
}

/* The keys auth needs are there, and no key for another auth is. */
static void check_auth(struct conf_section *sec, struct generic *g,
                       struct diag *d)
{
    static const struct {
        const char *key;
        size_t offset;
        enum generic_auth auth;
    } needs[] = {
        {"token", offsetof(struct generic, token), AUTH_BEARER},
        {"username", offsetof(struct generic, username), AUTH_BASIC},
        {"password", offsetof(struct generic, password), AUTH_BASIC},
    };

    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++) {
        int has = *(char **)((char *)g + needs[i].offset) != NULL ||
                  conf_section_get(sec, needs[i].key) != NULL;
        if (needs[i].auth == g->auth && !has)
            diag_error(d, sec->file, conf_section_line(sec, "auth"), 0,
                       "[channel.%s]: missing key `%s` (auth = %s needs it)",
                       sec->name, needs[i].key, g->auth_name);
        else if (needs[i].auth != g->auth && has)
            diag_error(d, sec->file, conf_section_line(sec, needs[i].key), 0,
                       "%s: not used with auth = %s: remove it or change "
                       "auth",
                       needs[i].key, g->auth_name);
    }
}

static void *generic_init(struct conf_section *sec, const struct config *cfg,
                          struct diag *d)
{
    struct generic *g = calloc(1, sizeof *g);
    int errors = d->errors;
    size_t i;

    if (!g)
        return NULL;
    sms_keys_read(sec, cfg, generic_keys, NKEYS, g, d);
    for (i = 0; g->auth_name && i < sizeof auth_names / sizeof auth_names[0];
         i++)
        if (strcmp(auth_names[i].name, g->auth_name) == 0)
            break;
    if (g->auth_name && i == sizeof auth_names / sizeof auth_names[0])
        diag_error(d, sec->file, conf_section_line(sec, "auth"), 0,
                   "auth: \"%s\": use bearer, basic or none", g->auth_name);
    else if (g->auth_name) {
        g->auth = auth_names[i].auth;
        check_auth(sec, g, d);
    }
    if (d->errors == errors && g->auth == AUTH_BASIC) {
        char *pair;
        if (asprintf(&pair, "%s:%s", g->username, g->password) < 0)
            pair = NULL;
        g->basic = pair ? sms_base64(pair, strlen(pair)) : NULL;
        if (pair)
            memset(pair, 0, strlen(pair));
        free(pair);
    }
    if (d->errors != errors) {
        generic_free(g);
        return NULL;
    }
    return g;
}

static void set_opt(json_t *obj, const char *key, const char *value)
{
    if (value)
        json_object_set_new(obj, key, json_string(value));
}

/* The JSON body; NULL with res filled when the message cannot go. */
static char *generic_body(const struct generic *g, const struct sms_send *s,
                          struct chan_result *res)
{
    const struct chan_msg *m = s->msg;
    json_t *obj = json_object(), *params = NULL;
    char *body = NULL;

    set_opt(obj, "to", s->to);
    if (m->body) {
        set_opt(obj, "text", m->body);
    } else if (m->provider_template) {
        if (!(params = sms_params(s, "generic", res)))
            goto out;
        set_opt(obj, "template", m->provider_template);
        json_object_set(obj, "params", params);
    } else {
        chan_result_fail(res, CHAN_PERMANENT, "no_text",
                         "template %s has no SMS text",
                         m->template_name ? m->template_name : "(unnamed)");
        goto out;
    }
    set_opt(obj, "sender", g->sender);
    set_opt(obj, "idempotency_key", m->idempotency_key);
    set_opt(obj, "callback_url", g->callback_url);
    if (!(body = json_dumps(obj, JSON_COMPACT)))
        chan_result_fail(res, CHAN_TRANSIENT, "ENOMEM", "out of memory");
out:
    json_decref(params);
    json_decref(obj);
    return body;
}

static int generic_request(const void *conf, const struct sms_send *s,
                           struct sms_http *out, struct chan_result *res)
{
    const struct generic *g = conf;
    const char *key = s->msg->idempotency_key;
    int rc = 0;

    if (key && key[strcspn(key, "\r\n")]) {
        /* it goes into a header line of its own */
        chan_result_fail(res, CHAN_PERMANENT, "bad_key",
                         "the idempotency key has a line break");
        return -1;
    }
    if (!(out->body = generic_body(g, s, res)))
        return -1;
    out->len = strlen(out->body);
    out->url = strdup(g->url);
    rc |= sms_http_header(out, "Content-Type: application/json");
    rc |= sms_http_header(out, "Accept: application/json");
    if (g->auth == AUTH_BEARER)
        rc |= sms_http_header(out, "Authorization: Bearer %s", g->token);
    else if (g->auth == AUTH_BASIC)
        rc |= sms_http_header(out, "Authorization: Basic %s", g->basic);
    if (key && *key)
        rc |= sms_http_header(out, "Idempotency-Key: %s", key);
    if (rc || !out->url) {
        chan_result_fail(res, CHAN_TRANSIENT, "ENOMEM", "out of memory");
        return -1;
    }
    return 0;
}

/* The gateway's message id: "id", a string or a number. */
static void take_id(json_t *obj, struct chan_result *res)
{
    chan_result_json_id(res, obj, "id");
}

static int generic_answer(const void *conf, long status, const char *body,
                          struct chan_result *res)
{
    json_t *obj = sms_json_answer(body);
    const char *code = sms_json_str(obj, "code");
    const char *message = sms_json_str(obj, "message");
    int known = code && sms_code_find(generic_codes, code)->code;

    if (!message)
        message = sms_json_str(obj, "error");
    if (status >= 200 && status < 300 && (!code || strcmp(code, "ok") == 0)) {
        res->status = CHAN_OK;
        take_id(obj, res);
    } else if (known) {
        sms_code_apply(generic_codes, "generic", code, message, res);
    } else if (status == 401 || status == 402 || status == 403) {
        /* credentials or payment: the account's, not the number's */
        char code_text[32];
        snprintf(code_text, sizeof code_text, "HTTP %ld", status);
        chan_result_fail(res, CHAN_PERMANENT, code_text,
                         "generic: HTTP %ld: the gateway refused the "
                         "account (credentials or payment)",
                         status);
        res->account = 1;
    } else {
        json_decref(obj);
        return 0;
    }
    json_decref(obj);
    return 1;
}

const struct sms_form sms_form_generic = {
    .name = "generic",
    .init = generic_init,
    .free = generic_free,
    .request = generic_request,
    .answer = generic_answer,
};
