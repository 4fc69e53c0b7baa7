/*
 * part.c - reading one part file (see part.h): the header lines a part
 * type knows, then the body, each compiled with its place in the file so
 * that errors point at the right line and column.
 */
#include "templates/part.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "templates/buf.h"
#include "templates/render.h"
#include "templates/sms.h"

/* The header lines each type knows; "Param-" is a prefix. */
static const char *const sms_keys[] = {"Kind", "Template-Code", "Param-",
                                       NULL};
static const char *const email_keys[] = {"Subject", "Kind", NULL};
static const char *const wecom_keys[] = {"Format", "Kind", NULL};
static const char *const webhook_keys[] = {"Kind", NULL};

static const char *const *keys_of(enum tmpl_type t)
{
    switch (t) {
    case TMPL_SMS:
        return sms_keys;
    case TMPL_EMAIL:
        return email_keys;
    case TMPL_WECOM:
        return wecom_keys;
    default:
        return webhook_keys;
    }
}

/* One header line, split. */
struct hline {
    const char *key, *value;
    size_t klen, vlen;
    int line, col; /* of the line, and of its value */
};

struct parser {
    struct tmpl_part *part;
    const struct part_text *t;
    const struct config *cfg;
    struct diag *d;
    int errors;
};

static struct tmpl_prog *compile_at(struct parser *p, const char *s,
                                    size_t n, int line, int col)
{
    struct tmpl_pos pos = {p->t->file, line, col};
    struct tmpl_names names = {NULL, NULL};
    struct tmpl_prog *prog;

    if (p->cfg) {
        names.school = &p->cfg->school;
        names.allowed = p->cfg->templates.allowed_attributes;
    }
    prog = tmpl_compile_names(s, n, &pos, &names, p->d);

    if (!prog)
        p->errors++;
    return prog;
}

static void error(struct parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void error(struct parser *p, int line, int col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(p->d, p->t->file, line, col, "%s", msg);
    p->errors++;
}

/* --- header lines -------------------------------------------------------- */

/* The key of the known list that the line starts with ("Key:"), or NULL. */
static const char *known_key(enum tmpl_type t, const char *s, size_t n)
{
    for (const char *const *k = keys_of(t); *k; k++) {
        size_t kl = strlen(*k);
        if (n <= kl || strncmp(s, *k, kl) != 0)
            continue;
        if ((*k)[kl - 1] == '-') /* a prefix: Param-NAME: */
            return memchr(s + kl, ':', n - kl) ? *k : NULL;
        if (s[kl] == ':')
            return *k;
    }
    return NULL;
}

static size_t chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

static void split_line(const char *s, size_t n, int line, struct hline *h)
{
    const char *colon = memchr(s, ':', n);
    size_t v;

    h->key = s;
    h->klen = colon ? (size_t)(colon - s) : n;
    v = colon ? h->klen + 1 : n;
    while (v < n && (s[v] == ' ' || s[v] == '\t'))
        v++;
    h->value = s + v;
    h->vlen = n - v;
    while (h->vlen && (h->value[h->vlen - 1] == ' ' ||
                       h->value[h->vlen - 1] == '\t'))
        h->vlen--;
    h->line = line;
    h->col = (int)chars(s, v) + 1;
}

static int word_ok(const char *s, size_t n, const char *extra)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || strchr(extra, c)))
            return 0;
    }
    return 1;
}

static int is(const struct hline *h, const char *key)
{
    return h->klen == strlen(key) && memcmp(h->key, key, h->klen) == 0;
}

static int value_is(const struct hline *h, const char *v)
{
    return h->vlen == strlen(v) && memcmp(h->value, v, h->vlen) == 0;
}

static void header_param(struct parser *p, const struct hline *h)
{
    struct tmpl_part *part = p->part;
    const char *name = h->key + 6;
    size_t nlen = h->klen - 6;
    struct tmpl_param *np;

    if (!word_ok(name, nlen, "-")) {
        error(p, h->line, 1, "invalid parameter name \"%.*s\": use letters, "
              "digits, _ and -", (int)h->klen, h->key);
        return;
    }
    if (!(np = realloc(part->params, (part->nparams + 1) * sizeof *np)))
        return;
    part->params = np;
    np = &part->params[part->nparams];
    if (!(np->name = strndup(name, nlen)))
        return;
    np->value = compile_at(p, h->value, h->vlen, h->line, h->col);
    part->nparams++;
}

static void header_set_prog(struct parser *p, const struct hline *h,
                            struct tmpl_prog **slot)
{
    if (*slot) {
        error(p, h->line, 1, "%.*s is given twice", (int)h->klen, h->key);
        return;
    }
    *slot = compile_at(p, h->value, h->vlen, h->line, h->col);
}

/* Kind: marketing, service (or notice) or staff; once. */
static void header_kind(struct parser *p, const struct hline *h)
{
    int c = msg_class_parse(h->value, h->vlen);

    if (p->part->kind_line) {
        error(p, h->line, 1, "Kind is given twice (first on line %d)",
              p->part->kind_line);
        return;
    }
    if (c < 0) {
        error(p, h->line, h->col, "invalid Kind \"%.*s\": use marketing, "
              "service (notice) or staff; a part without Kind is marketing",
              (int)h->vlen, h->value);
        return;
    }
    p->part->cls = (enum msg_class)c;
    p->part->kind_line = h->line;
}

static void one_header(struct parser *p, const struct hline *h)
{
    struct tmpl_part *part = p->part;

    if (is(h, "Subject")) {
        header_set_prog(p, h, &part->subject);
    } else if (is(h, "Kind")) {
        header_kind(p, h);
    } else if (is(h, "Format")) {
        if (value_is(h, "markdown") || value_is(h, "text"))
            part->markdown = value_is(h, "markdown");
        else
            error(p, h->line, h->col, "invalid Format \"%.*s\": use text or "
                  "markdown", (int)h->vlen, h->value);
    } else if (is(h, "Template-Code")) {
        if (!word_ok(h->value, h->vlen, "-.") || part->provider_code)
            error(p, h->line, h->col, "invalid Template-Code \"%.*s\": one "
                  "code of letters, digits, _, - and .", (int)h->vlen,
                  h->value);
        else
            part->provider_code = strndup(h->value, h->vlen);
    } else {
        header_param(p, h);
    }
}

static const char *keys_hint(enum tmpl_type t)
{
    switch (t) {
    case TMPL_SMS:
        return "Kind, Template-Code or Param-NAME";
    case TMPL_EMAIL:
        return "Subject or Kind";
    case TMPL_WECOM:
        return "Format or Kind";
    default:
        return "Kind";
    }
}

/* Reads the header lines; returns the offset of the body. */
static size_t parse_headers(struct parser *p, int *body_line)
{
    const struct part_text *t = p->t;
    size_t off = 0;
    int line = 1;

    while (off < t->n) {
        const char *nl = memchr(t->text + off, '\n', t->n - off);
        size_t end = nl ? (size_t)(nl - t->text) : t->n, len = end - off;
        struct hline h;
        if (len && t->text[end - 1] == '\r')
            len--;
        if (len == 0) { /* the blank line: the body follows */
            off = nl ? end + 1 : end;
            line++;
            break;
        }
        split_line(t->text + off, len, line, &h);
        if (!known_key(p->part->type, t->text + off, len))
            error(p, line, 1, "unknown header \"%.*s\" in a .%s part: use %s, "
                  "then a blank line", (int)h.klen, h.key,
                  tmpl_type_name(p->part->type), keys_hint(p->part->type));
        else
            one_header(p, &h);
        off = nl ? end + 1 : end;
        line++;
    }
    *body_line = line;
    return off;
}

/* --- checks of the whole part -------------------------------------------- */

/* A lower bound of the SMS: text and defaults, sections left out. */
static void sms_estimate(const struct tmpl_part *part,
                         const struct config *cfg, struct sms_info *info)
{
    const struct tmpl_prog *pr = part->body;
    struct tbuf b = {0};

    for (size_t i = 0; i < pr->nops; i++) {
        const struct tmpl_op *op = &pr->ops[i];
        if (op->kind == OP_SECTION)
            i = op->end - 1;
        else if (op->kind == OP_TEXT || op->has_default)
            tbuf_add(&b, pr->text + op->off, op->len);
    }
    if (part->cls == MSG_MARKETING && cfg && cfg->templates.sms_optout_text)
        tbuf_adds(&b, cfg->templates.sms_optout_text);
    tmpl_sms_measure(b.p ? b.p : "", b.len, info);
    tbuf_free(&b);
}

static void check_sms(struct parser *p, int body_line)
{
    struct tmpl_part *part = p->part;
    struct sms_info info;
    int max = p->cfg ? p->cfg->templates.sms_max_segments : 0;

    if (part->nparams && !part->provider_code)
        error(p, 1, 1, "Param- lines need a Template-Code: line");
    if (!part->provider_code && part->body && part->body->nops == 0)
        error(p, body_line, 1, "the SMS is empty: write its text after the "
              "header lines and a blank line");
    if (p->errors || !part->body || max <= 0)
        return;
    sms_estimate(part, p->cfg, &info);
    if (info.segments > max)
        diag_warning(p->d, p->t->file, body_line, 1,
                     "the SMS takes at least %d segments (%s, %zu "
                     "characters), above sms_max_segments = %d",
                     info.segments, tmpl_sms_encoding_name(info.encoding),
                     info.chars, max);
}

/* Every value "x", every section shown: is the body JSON? */
static const char *all_present(void *arg, const struct tmpl_ref *ref)
{
    (void)arg;
    (void)ref;
    return "x";
}

static void check_webhook(struct parser *p, int body_line)
{
    struct tbuf b = {0};
    char why[256];
    json_error_t jerr;
    json_t *j;

    if (tmpl_exec(p->part->body, ESC_JSON, all_present, NULL, &b, why,
                  sizeof why) != TMPL_OK) {
        tbuf_free(&b);
        return;
    }
    j = json_loadb(b.p ? b.p : "", b.len, 0, &jerr);
    if (!j)
        error(p, body_line, 1, "the webhook body is not JSON (with every "
              "value set): %s, at line %d column %d of the rendered body",
              jerr.text, jerr.line, jerr.column);
    json_decref(j);
    tbuf_free(&b);
}

/* SMS and WeCom texts end where their last line does. */
static size_t trim_final_breaks(const char *s, size_t n)
{
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return n;
}

/* The length of the first line, without its line break. */
static size_t first_line(const struct part_text *t)
{
    const char *nl = memchr(t->text, '\n', t->n);
    size_t n = nl ? (size_t)(nl - t->text) : t->n;

    return n && t->text[n - 1] == '\r' ? n - 1 : n;
}

int tmpl_part_parse(struct tmpl_part *part, const struct part_text *t,
                    const struct config *cfg, struct diag *d)
{
    struct parser p = {part, t, cfg, d, 0};
    size_t off = 0, blen;
    int body_line = 1, headers;

    if (!(part->file = strdup(t->file)))
        return -1;
    headers = part->type == TMPL_EMAIL ||
              known_key(part->type, t->text, first_line(t)) != NULL;
    if (part->type == TMPL_EMAIL && !known_key(TMPL_EMAIL, t->text, t->n))
        error(&p, 1, 1, "an email part starts with a \"Subject: ...\" line, "
              "then a blank line, then the text");
    else if (headers)
        off = parse_headers(&p, &body_line);
    if (part->type == TMPL_EMAIL && headers && !part->subject && !p.errors)
        error(&p, 1, 1, "an email part needs a \"Subject: ...\" line among "
              "its header lines");
    blen = t->n - off;
    if (part->type == TMPL_SMS || part->type == TMPL_WECOM)
        blen = trim_final_breaks(t->text + off, blen);
    if (blen > 0 || !part->provider_code)
        part->body = compile_at(&p, t->text + off, blen, body_line, 1);
    if (part->type == TMPL_EMAIL && !p.errors && part->body->nops == 0)
        error(&p, body_line, 1, "the email has no text body: write it after "
              "the Subject line and a blank line");
    if (part->type == TMPL_SMS)
        check_sms(&p, body_line);
    /* Out of memory here only costs speed: the text is counted when
     * rendered instead. */
    if (part->type == TMPL_SMS && part->body && !p.errors)
        (void)tmpl_prog_count_sms(part->body);
    if (part->type == TMPL_WEBHOOK && !p.errors)
        check_webhook(&p, body_line);
    return p.errors ? -1 : 0;
}

int tmpl_part_add_html(struct tmpl_part *part, const struct part_text *t,
                       const struct config *cfg, struct diag *d)
{
    struct parser p = {part, t, cfg, d, 0};

    if (!(part->html_file = strdup(t->file)))
        return -1;
    part->html = compile_at(&p, t->text, t->n, 1, 1);
    return p.errors ? -1 : 0;
}

void tmpl_part_clear(struct tmpl_part *part)
{
    tmpl_prog_free(part->subject);
    tmpl_prog_free(part->body);
    tmpl_prog_free(part->html);
    for (size_t i = 0; i < part->nparams; i++) {
        free(part->params[i].name);
        tmpl_prog_free(part->params[i].value);
    }
    free(part->params);
    free(part->provider_code);
    free(part->file);
    free(part->html_file);
    memset(part, 0, sizeof *part);
}
