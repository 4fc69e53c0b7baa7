/*
 * alert_message.c - the message of one batch of an alert group (see
 * alert_int.h): the heading the group's template renders for the alert
 * (its values: count, level, recipient, and supervisor.X the recipient),
 * then the leads as rows (rules/alert_render.h) for the channel's type,
 * and for email the whole MIME message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/student_store.h"
#include "rules/alert_int.h"
#include "templates/mime.h"

void alert_email_finish(struct mime_email *e, struct tbuf *text,
                        struct tbuf *html, struct tbuf *mime,
                        struct tbuf *scratch, struct chan_msg *m)
{
    tbuf_terminate(text);
    tbuf_terminate(html);
    e->text = text->p;
    e->html = html->p;
    tmpl_mime_build(mime, scratch, e);
    tbuf_terminate(mime);
    m->subject = e->subject;
    m->html = html->p;
    m->mime = mime->p;
}

/* The owner's name (their staff id when they have none, or cannot be
 * loaded), each owner loaded once per message. */
static const char *owner_name(struct alert_msg *am, struct rconn *rc,
                              const char *prefix, const char *id)
{
    struct staff *s = NULL;
    const char *name;

    if (!id || !id[0])
        return "(none)";
    for (size_t i = 0; i < am->nowners; i++)
        if (strcmp(am->owners[i]->id, id) == 0) {
            name = staff_get(am->owners[i], "name");
            return name && name[0] ? name : id;
        }
    if (am->nowners == ALERT_OWNERS_CACHED || !key_valid_id(id) ||
        staff_load(rc, prefix, id, &s) <= 0)
        return id;
    am->owners[am->nowners++] = s;
    name = staff_get(s, "name");
    return name && name[0] ? name : id;
}

/* The CRM link of a lead, or NULL (no crm_url). The caller frees it. */
static char *crm_link(const struct config *cfg, const char *id)
{
    const char *pat = cfg->alerts.crm_url, *at;
    char *out;

    if (!pat || !pat[0] || !(at = strstr(pat, "{id}")))
        return NULL;
    if (asprintf(&out, "%.*s%s%s", (int)(at - pat), pat, id, at + 4) < 0)
        return NULL;
    return out;
}

/* The rows of the leads, most overdue first (the batch's order). */
static int make_rows(struct alert_msg *am, const struct alert_send *as,
                     struct rconn *rc)
{
    struct alert_row *rows = calloc(as->n + 1, sizeof *rows);
    char **links = calloc(as->n + 1, sizeof *links);
    int64_t now = as->asof; /* the same text on every attempt */

    am->rows = rows;
    am->links = links;
    am->n = as->n;
    for (size_t i = 0; rows && links && i < as->n; i++) {
        const struct student *st = as->v[i].st; /* NULL: gone since */
        const char *name = st ? student_get(st, "name") : NULL,
                   *stage = st ? student_get(st, "stage") : NULL;
        rows[i].name = name && name[0] ? name : as->v[i].id;
        rows[i].stage = stage ? stage : "";
        rows[i].owner = owner_name(am, rc, as->cfg->redis.prefix,
                                   st ? student_get(st, "owner") : NULL);
        rows[i].overdue_ms = now - as->v[i].deadline;
        rows[i].link = links[i] = crm_link(as->cfg, as->v[i].id);
    }
    return rows && links ? 0 : -1;
}

/* The heading: the step's template rendered for the alert (alert.h,
 * docs/leads.md): 1 rendered into out, 0 not (logged; the caller uses a
 * plain one). */
static int render_heading(const struct alert_send *as,
                          const struct tmpl_set *tmpls, const struct staff *who,
                          const char *idem, struct tmpl_out *out)
{
    const struct tmpl_part *part = tmpl_find(tmpls, as->tmpl, as->ch->as);
    struct student *st = student_new(as->g.staff);
    char count[24], level[24];
    struct tmpl_ctx ctx = {.supervisor = who, .cfg = as->cfg, .to = as->to,
                           .to_name = staff_get(who, "name"),
                           .from = as->ch->from, .key = idem,
                           .now_ms = as->asof, .to_staff = 1};
    enum tmpl_status got = TMPL_INVALID;

    snprintf(count, sizeof count, "%zu", as->n);
    snprintf(level, sizeof level, "%ld", as->g.level);
    if (st && part && attrs_set(&st->attrs, "count", count) == 0 &&
        attrs_set(&st->attrs, "level", level) == 0 &&
        attrs_set(&st->attrs, "recipient", as->g.staff) == 0) {
        student_seal(st);
        ctx.student = st;
        got = tmpl_render(part, &ctx, out);
    }
    if (got != TMPL_OK)
        log_warnx("alert %s: template %s gave no heading (%s): a plain one "
                  "is used",
                  as->g.id, as->tmpl,
                  !part ? "no such part" : out->err[0] ? out->err : "no memory");
    student_free(st);
    return got == TMPL_OK;
}

/* The bodies of the message for the channel's type. */
static void compose(const struct alert_send *as, const struct tmpl_msg *head,
                    const struct staff *who, struct alert_msg *b,
                    struct chan_msg *m)
{
    const struct alert_row *rows = b->rows;
    const char *idem = b->idem;
    const char *type = as->ch->as;
    const char *heading = head ? head->body : NULL;

    if (head && head->subject)
        snprintf(b->subject, sizeof b->subject, "%s", head->subject);
    else
        snprintf(b->subject, sizeof b->subject, "%zu lead%s overdue (level "
                 "%ld)", as->n, as->n == 1 ? "" : "s", as->g.level);
    m->type = type;
    m->to = as->to;
    if (strcmp(type, "wecom") == 0) {
        alert_render_markdown(&b->text, heading,
                              head && head->format &&
                                  strcmp(head->format, "markdown") == 0,
                              rows, as->n, ALERT_WECOM_MAX);
        m->to_kind = "member";
        m->format = "markdown";
    } else if (strcmp(type, "email") == 0) {
        struct mime_email e = {
            .from = as->ch->from ? as->ch->from : "nudge <nudge@localhost>",
            .to = as->to, .to_name = staff_get(who, "name"),
            .subject = b->subject, .key = idem, .now_ms = as->asof};
        alert_render_text(&b->text, heading, rows, as->n, ALERT_EMAIL_ROWS);
        alert_render_html(&b->html, head ? head->html : NULL, heading, rows,
                          as->n, ALERT_EMAIL_ROWS);
        alert_email_finish(&e, &b->text, &b->html, &b->mime, &b->scratch, m);
    } else {
        alert_render_text(&b->text, heading, rows, as->n, ALERT_TEXT_ROWS);
    }
    tbuf_terminate(&b->text);
    m->body = b->text.p;
    m->template_name = as->tmpl;
    m->rule = as->v[0].rule;
    m->step = -1;
    m->idempotency_key = idem;
}

int alert_msg_build(struct alert_msg *am, const struct alert_send *as,
                    const struct tmpl_set *tmpls, const struct staff *who,
                    struct rconn *rc, struct chan_msg *m)
{
    int headed;

    memset(am, 0, sizeof *am);
    tmpl_out_init(&am->out);
    snprintf(am->idem, sizeof am->idem, "alert:%s:%lld", as->g.id,
             as->batch);
    if (make_rows(am, as, rc) < 0)
        return -1;
    headed = render_heading(as, tmpls, who, am->idem, &am->out);
    compose(as, headed ? &am->out.msg : NULL, who, am, m);
    return am->text.oom || am->html.oom || am->mime.oom ? -1 : 0;
}

void alert_msg_free(struct alert_msg *am)
{
    for (size_t i = 0; am->links && i < am->n; i++)
        free(am->links[i]);
    free(am->links);
    free(am->rows);
    for (size_t i = 0; i < am->nowners; i++)
        staff_free(am->owners[i]);
    tmpl_out_free(&am->out);
    tbuf_free(&am->text);
    tbuf_free(&am->html);
    tbuf_free(&am->mime);
    tbuf_free(&am->scratch);
    memset(am, 0, sizeof *am);
}
