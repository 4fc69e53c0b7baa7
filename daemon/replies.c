/*
 * replies.c - the SMS replies endpoint (see replies.h): checks the token,
 * reads the body in either form, finds every sender's student in one
 * round trip, then writes one `reply` event per reply of a known student.
 */
#include "daemon/replies.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/e164.h"
#include "core/event.h"
#include "core/event_write.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/mask.h"
#include "core/metrics.h"
#include "core/redis.h"
#include "core/reply.h"
#include "daemon/callback.h"

struct replies {
    const struct config *cfg;
    struct rconn *rc;
    struct metric *recorded, *unknown, *malformed, *unauthorized;
};

/* One reply of a request. */
struct item {
    char from[E164_MAX];
    const char *text; /* borrowed from the parsed body */
    char *student;    /* found through the phone index, or NULL */
};

struct request {
    enum callback_form form;
    json_t *root;
    struct item *items;
    size_t n;
};

static struct metric *counter(const char *result)
{
    return callback_counter("nudge_replies_total",
                            "SMS replies received at /replies/sms, by what "
                            "became of them.",
                            result);
}

struct replies *replies_new(const struct config *cfg)
{
    struct replies *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    r->cfg = cfg;
    if (!(r->rc = rconn_new(cfg, NULL))) {
        free(r);
        return NULL;
    }
    r->recorded = counter("recorded");
    r->unknown = counter("unknown_number");
    r->malformed = counter("malformed");
    r->unauthorized = counter("unauthorized");
    return r;
}

void replies_free(struct replies *r)
{
    if (!r)
        return;
    rconn_free(r->rc);
    free(r);
}

/* --- answers ------------------------------------------------------------ */

int replies_too_large(struct replies *r, char **out)
{
    metric_inc(r->malformed);
    log_warnx("replies: a body over %d bytes, refused", REPLIES_MAX_BODY);
    return callback_answer(
        FORM_GENERIC, 413,
        "the body is over 1 MiB: send fewer replies at a time", 0, 0, out);
}

/* --- the two forms ------------------------------------------------------ */

static const char *string_of(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* One reply, from its number's and text's fields. NULL, or why not. */
static const char *parse_item(json_t *o, const char *from_key,
                              const char *text_key, struct item *it)
{
    const char *from;

    if (!json_is_object(o))
        return "a reply is not a JSON object";
    if (!(from = string_of(o, from_key)))
        return strcmp(from_key, "from") == 0
                   ? "a reply has no \"from\" string"
                   : "a reply has no \"phone_number\" string";
    if (!(it->text = string_of(o, text_key)))
        return strcmp(text_key, "text") == 0
                   ? "a reply has no \"text\" string"
                   : "a reply has no \"content\" string";
    if (strlen(it->text) > REPLIES_MAX_TEXT)
        return "a reply's text is over 2000 bytes";
    if (e164_normalise(from, it->from) < 0)
        return "a reply's number is not a phone number (E.164, or a "
               "mainland mobile)";
    return NULL;
}

/* Aliyun pushes an array of objects with phone_number; anything else is
 * ours. */
static enum callback_form form_of(json_t *root)
{
    json_t *first = json_array_get(root, 0);

    return json_is_object(first) && json_object_get(first, "phone_number")
               ? FORM_ALIYUN
               : FORM_GENERIC;
}

/* Fills req from body. NULL, or why not (then req->form says how to
 * answer). The caller frees with request_free() either way. */
static const char *request_parse(struct request *req, const char *body,
                                 size_t len)
{
    json_error_t jerr;
    const char *why;
    size_t n;

    memset(req, 0, sizeof *req);
    if (!(req->root = json_loadb(body, len, 0, &jerr)))
        return "the body is not JSON";
    if (json_is_object(req->root))
        n = 1;
    else if (json_is_array(req->root) && json_array_size(req->root) > 0)
        n = json_array_size(req->root);
    else
        return "the body is neither a reply nor a non-empty array of them";
    req->form = form_of(req->root);
    if (!(req->items = calloc(n, sizeof *req->items)))
        return "out of memory";
    for (req->n = 0; req->n < n; req->n++) {
        json_t *o = json_is_array(req->root) ? json_array_get(req->root, req->n)
                                             : req->root;
        why =
            req->form == FORM_ALIYUN
                ? parse_item(o, "phone_number", "content", &req->items[req->n])
                : parse_item(o, "from", "text", &req->items[req->n]);
        if (why)
            return why;
    }
    return NULL;
}

static void request_free(struct request *req)
{
    for (size_t i = 0; i < req->n; i++)
        free(req->items[i].student);
    free(req->items);
    json_decref(req->root);
}

/* --- Redis ------------------------------------------------------------- */

static int unavailable(struct replies *r, enum callback_form form, char **out)
{
    log_warnx("replies: Redis: %s", r->rc->errstr);
    rconn_close(r->rc); /* a fresh connection for the next request */
    return callback_answer(form, 503, "busy: try again later", 0, 0, out);
}

/* Finds every sender's student in one round trip. 0, or -1 on a Redis
 * failure (or no memory). */
static int look_up_all(struct replies *r, struct request *req)
{
    char key[KEY_MAX];
    redisReply *rep;

    for (size_t i = 0; i < req->n; i++) {
        key_phone(key, sizeof key, r->cfg->redis.prefix, req->items[i].from);
        if (rconn_append(r->rc, "GET %s", key) < 0)
            return -1;
    }
    for (size_t i = 0; i < req->n; i++) {
        struct item *it = &req->items[i];
        if (!(rep = rconn_reply(r->rc)))
            return -1;
        if (rep->type == REDIS_REPLY_STRING && key_valid_id(rep->str) &&
            !(it->student = strdup(rep->str))) {
            reply_free(rep);
            return -1;
        }
        reply_free(rep);
    }
    return 0;
}

/* The reply event of one known sender, as a CRM would write it. */
static int write_reply(struct replies *r, const struct item *it)
{
    struct event ev = {.id = "", .kind = EV_REPLY, .type = "reply"};
    static const char *const names[] = {"type", "student", "channel", "text",
                                        "actor"};
    const char *values[] = {"reply", it->student, "sms", it->text, "student"};
    char id[64], err[256];

    ev.student = it->student;
    ev.nfields = sizeof names / sizeof names[0];
    for (size_t i = 0; i < ev.nfields; i++) {
        ev.names[i] = names[i];
        ev.values[i] = values[i];
    }
    if (event_write(r->rc, r->cfg->redis.prefix, &ev, id, sizeof id, err,
                    sizeof err) < 0) {
        snprintf(r->rc->errstr, sizeof r->rc->errstr, "%s", err);
        return -1;
    }
    return 0;
}

/* Writes the replies of known senders; counts and logs the others.
 * Returns the number written, or -1 on a Redis failure (those before it
 * stay written: each is an event of its own, and the gateway's retry
 * writes them again, as a CRM could). */
static long record_all(struct replies *r, const struct request *req,
                       size_t *unknown)
{
    char masked[64];
    long written = 0;

    *unknown = 0;
    for (size_t i = 0; i < req->n; i++) {
        const struct item *it = &req->items[i];
        if (!it->student) {
            ++*unknown;
            metric_inc(r->unknown);
            log_warnx("replies: a reply from %s, whom no student has: not "
                      "recorded",
                      mask_contact(it->from, masked, sizeof masked));
            continue;
        }
        if (write_reply(r, it) < 0)
            return -1;
        metric_inc(r->recorded);
        log_debug("reply from student %s (%s)", it->student,
                  mask_contact(it->from, masked, sizeof masked));
        written++;
    }
    return written;
}

/* --- the request ---------------------------------------------------------- */

int replies_handle(struct replies *r, const char *body, size_t len,
                   const char *authorization, const char *token, char **out)
{
    struct request req;
    const char *why;
    size_t unknown;
    long written;
    int status;

    *out = NULL;
    if (!http_token_ok(r->cfg->http.receipts_token, authorization, token)) {
        metric_inc(r->unauthorized);
        log_warnx("replies: a request without the right token, refused");
        return callback_answer(FORM_GENERIC, 401,
                               "unauthorized: send Authorization: Bearer TOKEN",
                               0, 0, out);
    }
    if ((why = request_parse(&req, body, len))) {
        metric_inc(r->malformed);
        log_warnx("replies: malformed body, nothing recorded: %s", why);
        status = callback_answer(req.form, 400, why, 0, 0, out);
    } else if ((!r->rc->c && rconn_connect(r->rc) < 0) ||
               look_up_all(r, &req) < 0 ||
               (written = record_all(r, &req, &unknown)) < 0) {
        status = unavailable(r, req.form, out);
    } else {
        status =
            callback_answer(req.form, 200, NULL, (size_t)written, unknown, out);
    }
    request_free(&req);
    return status;
}
