/*
 * receipts.c - the delivery receipts endpoint (see receipts.h): checks the
 * token, reads the body in either form, looks every id up, then writes
 * every report, or nothing.
 */
#include "daemon/receipts.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mask.h"
#include "core/metrics.h"
#include "core/receipt.h"
#include "core/redis.h"
#include "daemon/callback.h"

struct receipts {
    const struct config *cfg;
    struct rconn *rc;
    struct metric *delivered, *undelivered, *unknown_id, *malformed,
        *unauthorized;
};

/* One report of a request: what the provider said, and the record. */
struct item {
    const char *id; /* borrowed from the parsed body */
    struct receipt_report rep;
    char code[64]; /* a numeric code, as text */
    struct receipt rec;
};

/* One request's body, parsed. */
struct request {
    enum callback_form form;
    json_t *root;
    struct item *items;
    size_t n;
};

static struct metric *counter(const char *result)
{
    return callback_counter("nudge_receipts_total",
                            "Delivery reports received at /receipts/sms, by "
                            "what became of them.",
                            result);
}

struct receipts *receipts_new(const struct config *cfg)
{
    struct receipts *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    r->cfg = cfg;
    if (!(r->rc = rconn_new(cfg, NULL))) {
        free(r);
        return NULL;
    }
    r->delivered = counter("delivered");
    r->undelivered = counter("undelivered");
    r->unknown_id = counter("unknown_id");
    r->malformed = counter("malformed");
    r->unauthorized = counter("unauthorized");
    return r;
}

void receipts_free(struct receipts *r)
{
    if (!r)
        return;
    rconn_free(r->rc);
    free(r);
}

/* --- answers ------------------------------------------------------------ */

static int refuse_malformed(struct receipts *r, enum callback_form form,
                            const char *why, char **out)
{
    metric_inc(r->malformed);
    log_warnx("receipts: malformed report, nothing recorded: %s", why);
    return callback_answer(form, 400, why, 0, -1, out);
}

int receipts_too_large(struct receipts *r, char **answer_out)
{
    metric_inc(r->malformed);
    log_warnx("receipts: a body over %d bytes, refused", RECEIPTS_MAX_BODY);
    return callback_answer(FORM_GENERIC, 413,
                           "the body is over 1 MiB: send fewer reports at "
                           "a time",
                           0, -1, answer_out);
}

/* --- the two forms ------------------------------------------------------ */

static const char *string_of(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A code may come as a string or a number. */
static const char *code_of(json_t *o, const char *key, char *buf, size_t n)
{
    json_t *v = json_object_get(o, key);

    if (json_is_integer(v)) {
        snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    return json_string_value(v);
}

/* {"id", "status", "code", "message", "time"}. NULL, or why not. */
static const char *parse_generic(json_t *o, struct item *it)
{
    const char *status = string_of(o, "status");

    if (!json_is_object(o))
        return "a report is not a JSON object";
    if (!(it->id = string_of(o, "id")))
        return "a report has no \"id\" string";
    if (!status)
        return "a report has no \"status\" string";
    if (strcmp(status, "delivered") == 0)
        it->rep.delivered = 1;
    else if (strcmp(status, "undelivered") != 0 &&
             strcmp(status, "failed") != 0)
        return "\"status\" is not delivered, undelivered or failed";
    it->rep.code = code_of(o, "code", it->code, sizeof it->code);
    it->rep.message = string_of(o, "message");
    return NULL;
}

/* Aliyun's SmsReport item: biz_id is the provider id. */
static const char *parse_aliyun(json_t *o, struct item *it)
{
    json_t *success = json_object_get(o, "success");

    if (!json_is_object(o))
        return "a report is not a JSON object";
    if (!(it->id = string_of(o, "biz_id")))
        return "a report has no \"biz_id\" string";
    if (!json_is_boolean(success))
        return "a report has no \"success\" true or false";
    it->rep.delivered = json_is_true(success);
    it->rep.code = code_of(o, "err_code", it->code, sizeof it->code);
    it->rep.message = string_of(o, "err_msg");
    it->rep.to = string_of(o, "phone_number");
    return NULL;
}

/* Aliyun pushes an array of objects with biz_id; anything else is ours. */
static enum callback_form form_of(json_t *root)
{
    json_t *first = json_array_get(root, 0);

    return json_is_object(first) && json_object_get(first, "biz_id")
               ? FORM_ALIYUN
               : FORM_GENERIC;
}

/* Fills req from body. NULL, or why not (then req->form says how to
 * answer). The caller frees with request_free() either way. */
static const char *request_parse(struct request *req, const char *body,
                                 size_t len)
{
    const char *why;
    json_error_t jerr;
    size_t n;

    memset(req, 0, sizeof *req);
    if (!(req->root = json_loadb(body, len, 0, &jerr)))
        return "the body is not JSON";
    if (json_is_object(req->root))
        n = 1;
    else if (json_is_array(req->root) && json_array_size(req->root) > 0)
        n = json_array_size(req->root);
    else
        return "the body is neither a report nor a non-empty array of them";
    req->form = form_of(req->root);
    if (!(req->items = calloc(n, sizeof *req->items)))
        return "out of memory";
    for (req->n = 0; req->n < n; req->n++) {
        json_t *o = json_is_array(req->root) ? json_array_get(req->root, req->n)
                                             : req->root;
        struct item *it = &req->items[req->n];
        why = req->form == FORM_ALIYUN ? parse_aliyun(o, it)
                                       : parse_generic(o, it);
        if (why)
            return why;
        if (!receipt_id_valid(it->id))
            return "a provider id is not 1 to 128 printable characters";
    }
    return NULL;
}

static void request_free(struct request *req)
{
    free(req->items);
    json_decref(req->root);
}

/* --- Redis ------------------------------------------------------------- */

static int unavailable(struct receipts *r, enum callback_form form, char **out)
{
    log_warnx("receipts: Redis: %s", r->rc->errstr);
    rconn_close(r->rc); /* a fresh connection for the next request */
    return callback_answer(form, 503, "busy: try again later", 0, -1, out);
}

/* Looks every id up in one round trip. Returns the number unknown, or
 * -1 on a Redis error. */
static int look_up_all(struct receipts *r, struct request *req,
                       struct item **first_unknown)
{
    const char *prefix = r->cfg->redis.prefix;
    int unknown = 0, got;

    *first_unknown = NULL;
    for (size_t i = 0; i < req->n; i++)
        if (receipt_lookup_cmd(r->rc, prefix, req->items[i].id) < 0)
            return -1;
    for (size_t i = 0; i < req->n; i++) {
        struct item *it = &req->items[i];
        if ((got = receipt_lookup_reply(r->rc, it->id, &it->rec)) < 0)
            return -1;
        if (got == 0 && unknown++ == 0)
            *first_unknown = it;
    }
    return unknown;
}

static const char *status_name(const struct item *it)
{
    return it->rep.delivered ? "delivered" : "undelivered";
}

/* Writes every report not already recorded with that status. Returns
 * 0, or -1 on a Redis failure. */
static int record_all(struct receipts *r, struct request *req)
{
    const struct config *cfg = r->cfg;
    int queued = 0, errors;

    for (size_t i = 0; i < req->n; i++) {
        struct item *it = &req->items[i];
        if (strcmp(it->rec.status, status_name(it)) == 0)
            continue; /* the provider repeats itself */
        if (receipt_record_cmd(r->rc, cfg->redis.prefix,
                               cfg->redis.timeline_maxlen, it->id, &it->rec,
                               &it->rep) < 0)
            return -1;
        queued += RECEIPT_RECORD_CMDS;
    }
    if ((errors = rconn_discard(r->rc, queued)) != 0) {
        if (errors > 0)
            snprintf(r->rc->errstr, sizeof r->rc->errstr,
                     "%d of %d writes failed (see the Redis log)", errors,
                     queued);
        return -1;
    }
    return 0;
}

static void count_and_log(struct receipts *r, const struct request *req)
{
    char to[64];

    for (size_t i = 0; i < req->n; i++) {
        const struct item *it = &req->items[i];
        metric_inc(it->rep.delivered ? r->delivered : r->undelivered);
        log_debug("receipt %s: student %s, %s%s%s", it->id, it->rec.student,
                  status_name(it), it->rep.to ? " to " : "",
                  it->rep.to ? mask_contact(it->rep.to, to, sizeof to) : "");
    }
}

/* --- the request ---------------------------------------------------------- */

static int refuse_unknown(struct receipts *r, const struct request *req,
                          int unknown, const struct item *first, char **out)
{
    char why[256], to[64];

    metric_add(r->unknown_id, (uint64_t)unknown);
    log_warnx("receipts: %d unknown provider id%s (first %s%s%s): nothing "
              "recorded",
              unknown, unknown > 1 ? "s" : "", first->id,
              first->rep.to ? ", to " : "",
              first->rep.to ? mask_contact(first->rep.to, to, sizeof to) : "");
    snprintf(why, sizeof why,
             "unknown provider id \"%s\"%s: nothing was recorded", first->id,
             unknown > 1 ? " and others" : "");
    return callback_answer(req->form, 400, why, 0, -1, out);
}

int receipts_handle(struct receipts *r, const char *body, size_t len,
                    const char *authorization, const char *token, char **out)
{
    struct request req;
    struct item *first_unknown;
    const char *why;
    int status, unknown;

    *out = NULL;
    if (!http_token_ok(r->cfg->http.receipts_token, authorization, token)) {
        metric_inc(r->unauthorized);
        log_warnx("receipts: a request without the right token, refused");
        return callback_answer(FORM_GENERIC, 401,
                               "unauthorized: send Authorization: Bearer "
                               "TOKEN",
                               0, -1, out);
    }
    if ((why = request_parse(&req, body, len))) {
        status = refuse_malformed(r, req.form, why, out);
        request_free(&req);
        return status;
    }
    if (!r->rc->c && rconn_connect(r->rc) < 0)
        status = unavailable(r, req.form, out);
    else if ((unknown = look_up_all(r, &req, &first_unknown)) < 0)
        status = unavailable(r, req.form, out);
    else if (unknown > 0)
        status = refuse_unknown(r, &req, unknown, first_unknown, out);
    else if (record_all(r, &req) < 0)
        status = unavailable(r, req.form, out);
    else {
        count_and_log(r, &req);
        status = callback_answer(req.form, 200, NULL, req.n, -1, out);
    }
    request_free(&req);
    return status;
}
