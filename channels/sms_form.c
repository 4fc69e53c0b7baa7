/*
 * sms_form.c - what the sms forms share (see sms_form.h): settings read
 * from a table of keys, answer codes looked up in a table, and the
 * request they write.
 */
#include "channels/sms_form.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mask.h"

/* --- settings --------------------------------------------------------- */

static char **field(void *base, const struct sms_key *k)
{
    return (char **)((char *)base + k->offset);
}

/* Values go into HTTP headers and bodies: no control characters (a
 * line break in a token would start a header of its own). */
static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static char *read_value(struct conf_section *sec, const struct config *cfg,
                        const struct sms_key *k, const char *v, struct diag *d)
{
    int line = conf_section_line(sec, k->key);
    char err[256], *out;

    if (k->kind == SMS_KEY_SECRET) {
        if (!(out = config_secret(cfg, v, err, sizeof err)))
            diag_error(d, sec->file, line, 0, "%s: %s", k->key, err);
        else if (!*out || has_control(out)) {
            diag_error(d, sec->file, line, 0,
                       "%s: the secret is empty or has a line break or "
                       "other control character",
                       k->key);
            free(out);
            out = NULL;
        }
        return out;
    }
    if (has_control(v)) {
        diag_error(d, sec->file, line, 0, "%s: has a control character",
                   k->key);
        return NULL;
    }
    if (k->kind == SMS_KEY_URL && strncmp(v, "https://", 8) != 0 &&
        strncmp(v, "http://", 7) != 0) {
        diag_error(d, sec->file, line, 0,
                   "%s: \"%s\" is not an http:// or https:// URL", k->key, v);
        return NULL;
    }
    return strdup(v);
}

int sms_keys_read(struct conf_section *sec, const struct config *cfg,
                  const struct sms_key *rows, size_t n, void *base,
                  struct diag *d)
{
    int errors = d->errors;

    for (size_t i = 0; i < n; i++) {
        const struct sms_key *k = &rows[i];
        const char *v = conf_section_get(sec, k->key);

        if (v && !*v)
            v = NULL;
        if (!v && !(v = k->dflt)) {
            if (k->required)
                diag_error(d, sec->file, sec->line, 0,
                           "[channel.%s]: missing key `%s` (form %s needs "
                           "it)",
                           sec->name, k->key,
                           conf_section_get(sec, "form")
                               ? conf_section_get(sec, "form")
                               : "generic");
            continue;
        }
        *field(base, k) = read_value(sec, cfg, k, v, d);
    }
    return d->errors - errors;
}

void sms_keys_free(const struct sms_key *rows, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        char **f = field(base, &rows[i]);
        if (*f && rows[i].kind == SMS_KEY_SECRET)
            memset(*f, 0, strlen(*f));
        free(*f);
        *f = NULL;
    }
}

/* --- answer codes ----------------------------------------------------- */

static int code_matches(const char *row, const char *code)
{
    size_t n = strlen(row);

    if (n > 0 && row[n - 1] == '.')
        return strncmp(row, code, n) == 0;
    return strcmp(row, code) == 0;
}

const struct sms_code *sms_code_find(const struct sms_code *table,
                                     const char *code)
{
    const struct sms_code *r = table;

    for (; r->code; r++)
        if (code && code_matches(r->code, code))
            return r;
    return r; /* the row for codes not in the table */
}

void sms_code_apply(const struct sms_code *table, const char *form,
                    const char *code, const char *message,
                    struct chan_result *res)
{
    const struct sms_code *r = sms_code_find(table, code);
    char masked[200];

    mask_text(message ? message : "", masked, sizeof masked);
    res->status = r->status;
    res->account = r->account;
    snprintf(res->code, sizeof res->code, "%s", code ? code : "");
    snprintf(res->error, sizeof res->error, "%s: %s%s%s%s", form,
             code ? code : "no code", *masked ? ": " : "", masked,
             r->code ? "" : " (a code nudge does not know)");
}

/* --- requests --------------------------------------------------------- */

int sms_http_header(struct sms_http *h, const char *fmt, ...)
{
    va_list ap;
    int rc;

    if (h->nheaders == SMS_MAX_HEADERS)
        return -1;
    va_start(ap, fmt);
    rc = vasprintf(&h->headers[h->nheaders], fmt, ap);
    va_end(ap);
    if (rc < 0) {
        h->headers[h->nheaders] = NULL;
        return -1;
    }
    h->nheaders++;
    return 0;
}

void sms_http_free(struct sms_http *h)
{
    free(h->url);
    if (h->body)
        memset(h->body, 0, h->len); /* it may carry a signature */
    free(h->body);
    for (size_t i = 0; i < h->nheaders; i++)
        free(h->headers[i]);
    memset(h, 0, sizeof *h);
}

int sms_url_host(const char *url, char *out, size_t n)
{
    const char *p = strstr(url, "://"), *end, *at;
    size_t len;

    if (!p)
        return -1;
    p += 3;
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(end - p));
    if (at)
        p = at + 1; /* user:password@ is not part of Host */
    len = (size_t)(end - p);
    if (len == 0 || len >= n)
        return -1;
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

void sms_no_template(const struct sms_send *s, const char *form,
                     struct chan_result *res)
{
    const char *name = s->msg->template_name;

    /* Another channel (a generic gateway that takes text) may send it. */
    res->account = 1;
    chan_result_fail(res, CHAN_PERMANENT, "no_provider_template",
                     "template %s has no provider template code for %s",
                     name && *name ? name : "(unnamed)", form);
}

json_t *sms_params(const struct sms_send *s, const char *form,
                   struct chan_result *res)
{
    const char *text = s->msg->provider_params;
    json_t *obj;

    if (!text || !*text)
        return json_object();
    obj = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        res->account = 1; /* the template's fault, not the number's */
        chan_result_fail(
            res, CHAN_PERMANENT, "bad_params",
            "template %s: its %s parameters are not a JSON "
            "object",
            s->msg->template_name ? s->msg->template_name : "(unnamed)", form);
        return NULL;
    }
    return obj;
}

const char *sms_json_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

json_t *sms_json_answer(const char *body)
{
    json_t *obj = body ? json_loads(body, 0, NULL) : NULL;

    if (!json_is_object(obj)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}
