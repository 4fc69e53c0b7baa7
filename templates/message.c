/*
 * message.c - rendering a part into the message a channel sends (see
 * tmpl.h): the values of a student, their owner and supervisor, the
 * school and the message itself; then per type the SMS measure and
 * provider parameters, the WeCom format, the webhook JSON check, or the
 * whole MIME email.
 *
 * Every piece is rendered into one reusable buffer as offsets, and made
 * into pointers at the end (appends may move the buffer).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/e164.h"
#include "core/email_addr.h"
#include "templates/mime.h"
#include "templates/part.h"
#include "templates/tmpl.h"
#include "templates/unsub.h"

#define NO_OFF ((size_t)-1)

/* The pieces of out->buf, by offset. */
struct offsets {
    size_t subject, body, html, params, to;
};

struct render {
    const struct tmpl_part *part;
    const struct tmpl_ctx *ctx;
    struct tmpl_out *out;
    int link_made; /* out->link holds the unsubscribe link */
    int link_failed;
};

static const char *const default_from = "nudge <nudge@localhost>";

/* --- values -------------------------------------------------------------- */

static const char *staff_value(const struct staff *s, const char *key)
{
    return s ? staff_get(s, key) : NULL;
}

static const char *unsubscribe_link(struct render *r)
{
    const struct config *cfg = r->ctx->cfg;
    struct tbuf *b = &r->out->link;

    if (r->link_made)
        return b->p;
    if (r->link_failed || !cfg)
        return NULL;
    b->len = 0;
    if (tmpl_unsub_link(b, cfg->templates.unsubscribe_url,
                   cfg->templates.unsubscribe_secret, r->ctx->student->id,
                   tmpl_type_name(r->part->type)) < 0) {
        r->link_failed = 1;
        return NULL;
    }
    tbuf_terminate(b);
    if (b->oom)
        return NULL;
    r->link_made = 1;
    return b->p;
}

static const char *msg_value(struct render *r, const char *key)
{
    const struct config *cfg = r->ctx->cfg;

    if (strcmp(key, "unsubscribe_url") == 0)
        return unsubscribe_link(r);
    if (strcmp(key, "optout_text") == 0)
        return cfg ? cfg->templates.sms_optout_text : NULL;
    if (strcmp(key, "student_id") == 0)
        return r->ctx->student->id;
    if (strcmp(key, "template") == 0)
        return r->part->name;
    return NULL;
}

static const char *lookup(void *arg, const struct tmpl_ref *ref)
{
    struct render *r = arg;
    const struct tmpl_ctx *ctx = r->ctx;

    switch (ref->ns) {
    case NS_STUDENT:
        return student_get(ctx->student, ref->key);
    case NS_OWNER:
        return staff_value(ctx->owner, ref->key);
    case NS_SUPERVISOR:
        return staff_value(ctx->supervisor, ref->key);
    case NS_SCHOOL:
        return ctx->cfg ? attrs_get(&ctx->cfg->school, ref->key) : NULL;
    case NS_MSG:
        return msg_value(r, ref->key);
    case NS_TAG:
        return student_has_tag(ctx->student, ref->key) ? "1" : NULL;
    }
    return NULL;
}

/* --- pieces -------------------------------------------------------------- */

/* Renders prog into out->buf as one C string; sets *off. */
static enum tmpl_status piece(struct render *r, const struct tmpl_prog *prog,
                              enum tmpl_esc esc, size_t *off)
{
    struct tmpl_out *out = r->out;
    enum tmpl_status st;

    *off = out->buf.len;
    st = tmpl_exec(prog, esc, lookup, r, &out->buf, out->err, sizeof out->err);
    if (st != TMPL_OK)
        return st;
    tbuf_add(&out->buf, "", 1);
    return TMPL_OK;
}

/* Whether to is an address of a message of type: a plausible phone
 * number (E.164 once normalised) for SMS, an addr-spec for email, an id
 * with no space or control character for WeCom. Data from the CRM is
 * checked here, where the recipient is chosen, so that no channel and no
 * outbox gets "victim@example.cn\r\nBcc: ..." or a shell line. */
static int recipient_valid(enum tmpl_type type, const char *to, char *err,
                           size_t n)
{
    char e164[E164_MAX];

    switch (type) {
    case TMPL_SMS:
        if (e164_normalise(to, e164) == 0)
            return 1;
        snprintf(err, n, "invalid phone: not an E.164 number (+ and 8 to "
                         "15 digits) or a mainland mobile");
        return 0;
    case TMPL_EMAIL:
        if (email_addr_valid(to))
            return 1;
        snprintf(err, n, "invalid email: not a single address "
                         "(local@domain, no spaces or line breaks)");
        return 0;
    default:
        for (const unsigned char *p = (const unsigned char *)to; *p; p++)
            if (*p <= ' ' || *p == 0x7f) {
                snprintf(err, n, "invalid recipient: spaces or control "
                                 "characters in the id");
                return 0;
            }
        return 1;
    }
}

/* The recipient: ctx->to, or the student's contact for the type. */
static enum tmpl_status recipient(struct render *r, size_t *off)
{
    static const char *const contacts[TMPL_NTYPES][3] = {
        [TMPL_SMS] = {"phone"},
        [TMPL_EMAIL] = {"email"},
        [TMPL_WECOM] = {"wecom_userid", "wecom_external_userid"},
    };
    const char *const *names = contacts[r->part->type];
    const char *to = r->ctx->to;

    *off = NO_OFF;
    for (int i = 0; !to && names[i]; i++)
        to = student_get(r->ctx->student, names[i]);
    if (!to) {
        if (!names[0])
            return TMPL_OK; /* a webhook has no recipient */
        snprintf(r->out->err, sizeof r->out->err, "missing %s", names[0]);
        return TMPL_MISSING;
    }
    if (!recipient_valid(r->part->type, to, r->out->err,
                         sizeof r->out->err))
        return TMPL_MISSING; /* skipped: nothing is sent */
    *off = r->out->buf.len;
    tmpl_esc_append(&r->out->buf, ESC_HEADER, to, strlen(to));
    tbuf_add(&r->out->buf, "", 1);
    return TMPL_OK;
}

static int ends_with(const char *s, size_t n, const char *tail)
{
    size_t tl = strlen(tail);
    return n >= tl && memcmp(s + n - tl, tail, tl) == 0;
}

/* {"name":"value",...} from the Param- lines. */
static enum tmpl_status provider_params(struct render *r, size_t *off)
{
    const struct tmpl_part *part = r->part;
    struct tbuf *b = &r->out->buf;
    enum tmpl_status st;

    *off = b->len;
    tbuf_addc(b, '{');
    for (size_t i = 0; i < part->nparams; i++) {
        tbuf_adds(b, i ? ",\"" : "\"");
        tmpl_esc_append(b, ESC_JSON, part->params[i].name,
                   strlen(part->params[i].name));
        tbuf_add(b, "\":\"", 3);
        st = tmpl_exec(part->params[i].value, ESC_JSON, lookup, r, b,
                       r->out->err, sizeof r->out->err);
        if (st != TMPL_OK)
            return st;
        tbuf_addc(b, '"');
    }
    tbuf_add(b, "}", 2);
    return TMPL_OK;
}

static enum tmpl_status render_sms(struct render *r, struct offsets *o)
{
    const struct tmpl_part *part = r->part;
    const char *optout = r->ctx->cfg ? r->ctx->cfg->templates.sms_optout_text
                                     : NULL;
    struct tbuf *b = &r->out->buf;
    struct sms_count count = {0};
    enum tmpl_status st;

    if (part->provider_code && (st = provider_params(r, &o->params)))
        return st;
    if (!part->body)
        return TMPL_OK;
    o->body = b->len;
    /* Measured as it is written (render.h), not scanned again. */
    st = tmpl_exec_sms(part->body, lookup, r, b, &count, r->out->err,
                       sizeof r->out->err);
    if (st != TMPL_OK)
        return st;
    if (tmpl_send_class(part, r->ctx->to_staff) == MSG_MARKETING &&
        optout && *optout &&
        !ends_with(b->p + o->body, b->len - o->body, optout)) {
        size_t at = b->len;
        tbuf_adds(b, optout);
        tmpl_sms_count_at(&count, b->p, at, b->len);
    }
    tmpl_sms_finish(&count, b->p + o->body, b->len - o->body,
                    &r->out->msg.sms);
    tbuf_add(b, "", 1);
    return TMPL_OK;
}

static enum tmpl_status render_webhook(struct render *r, struct offsets *o)
{
    json_error_t jerr;
    json_t *j;
    enum tmpl_status st = piece(r, r->part->body, ESC_JSON, &o->body);

    if (st != TMPL_OK)
        return st;
    /* Values cannot break the JSON; a section can leave a stray comma. */
    if (!(j = json_loads(r->out->buf.p + o->body, 0, &jerr))) {
        snprintf(r->out->err, sizeof r->out->err,
                 "%s renders to invalid JSON: %s (line %d, column %d)",
                 r->part->file, jerr.text, jerr.line, jerr.column);
        return TMPL_INVALID;
    }
    json_decref(j);
    return TMPL_OK;
}

static enum tmpl_status render_email(struct render *r, struct offsets *o)
{
    const struct tmpl_part *part = r->part;
    enum tmpl_status st;

    if (!unsubscribe_link(r)) {
        snprintf(r->out->err, sizeof r->out->err,
                 "no unsubscribe link: set unsubscribe_secret in "
                 "[templates]; every email carries a signed link");
        return TMPL_INVALID;
    }
    if ((st = piece(r, part->subject, ESC_HEADER, &o->subject)) ||
        (st = piece(r, part->body, ESC_PLAIN, &o->body)) ||
        (part->html && (st = piece(r, part->html, ESC_HTML, &o->html))))
        return st;
    return TMPL_OK;
}

/* The whole message, once the pieces are in place. */
static void build_mime(struct render *r)
{
    const struct tmpl_ctx *ctx = r->ctx;
    struct tmpl_out *out = r->out;
    struct tmpl_msg *m = &out->msg;
    struct mime_email e = {
        .from = ctx->from ? ctx->from : default_from,
        .to = m->to,
        .to_name = ctx->to_name ? ctx->to_name
                   : ctx->to    ? NULL
                                : student_get(ctx->student, "name"),
        .subject = m->subject,
        .text = m->body,
        .html = m->html,
        .unsubscribe = m->unsubscribe_url,
        .key = ctx->key,
        .now_ms = ctx->now_ms ? ctx->now_ms : clock_now_ms(),
    };

    out->mime.len = 0;
    out->mime.oom = 0;
    tmpl_mime_build(&out->mime, &out->scratch, &e);
    tbuf_terminate(&out->mime);
    m->mime = out->mime.oom ? NULL : out->mime.p;
}

/* --- the message --------------------------------------------------------- */

static const char *at(const struct tbuf *b, size_t off)
{
    return off == NO_OFF ? NULL : b->p + off;
}

/* Fills out->msg, which tmpl_render() cleared (render_sms() has put the
 * SMS measure in it since). */
static void fill_msg(struct render *r, const struct offsets *o)
{
    struct tmpl_out *out = r->out;
    struct tmpl_msg *m = &out->msg;

    m->type = tmpl_type_name(r->part->type);
    m->to = at(&out->buf, o->to);
    m->subject = at(&out->buf, o->subject);
    m->body = at(&out->buf, o->body);
    m->html = at(&out->buf, o->html);
    m->provider_params = at(&out->buf, o->params);
    m->provider_template = r->part->provider_code;
    if (r->part->type == TMPL_WECOM)
        m->format = r->part->markdown ? "markdown" : "text";
    m->unsubscribe_url = r->link_made ? out->link.p : NULL;
}

static enum tmpl_status render_type(struct render *r, struct offsets *o)
{
    enum tmpl_status st;

    if ((st = recipient(r, &o->to)) != TMPL_OK)
        return st;
    switch (r->part->type) {
    case TMPL_SMS:
        return render_sms(r, o);
    case TMPL_EMAIL:
        return render_email(r, o);
    case TMPL_WECOM:
        return piece(r, r->part->body,
                     r->part->markdown ? ESC_MARKDOWN : ESC_PLAIN, &o->body);
    default:
        return render_webhook(r, o);
    }
}

enum tmpl_status tmpl_render(const struct tmpl_part *part,
                             const struct tmpl_ctx *ctx, struct tmpl_out *out)
{
    struct render r = {part, ctx, out, 0, 0};
    struct offsets o = {NO_OFF, NO_OFF, NO_OFF, NO_OFF, NO_OFF};
    enum tmpl_status st;

    out->buf.len = 0;
    out->buf.oom = 0;
    out->err[0] = '\0';
    tbuf_reserve(&out->buf, 1024); /* p is never NULL below */
    memset(&out->msg, 0, sizeof out->msg);
    st = render_type(&r, &o);
    if (st == TMPL_OK && out->buf.oom) {
        snprintf(out->err, sizeof out->err, "out of memory");
        st = TMPL_INVALID;
    }
    if (st != TMPL_OK)
        return st;
    fill_msg(&r, &o);
    if (part->type == TMPL_EMAIL) {
        build_mime(&r);
        if (!out->msg.mime) {
            snprintf(out->err, sizeof out->err, "out of memory");
            return TMPL_INVALID;
        }
    }
    return TMPL_OK;
}

void tmpl_out_init(struct tmpl_out *out)
{
    memset(out, 0, sizeof *out);
}

void tmpl_out_free(struct tmpl_out *out)
{
    tbuf_free(&out->buf);
    tbuf_free(&out->mime);
    tbuf_free(&out->scratch);
    tbuf_free(&out->link);
    memset(out, 0, sizeof *out);
}

void tmpl_msg_to_chan(const struct tmpl_msg *msg, struct chan_msg *cm)
{
    cm->type = msg->type;
    cm->to = msg->to;
    cm->subject = msg->subject;
    cm->body = msg->body;
    cm->html = msg->html;
    cm->mime = msg->mime;
    cm->format = msg->format;
    cm->provider_template = msg->provider_template;
    cm->provider_params = msg->provider_params;
}
