/*
 * compile.c - the template compiler (see compile.h).
 *
 * One pass over the text: text runs are copied into the program's text
 * pool, each {{tag}} becomes an op, and a stack of open sections patches
 * each section's end when its close is found. A tag alone on its line
 * (a section, a close or a comment, with only blanks around it) takes its
 * line with it, so block templates do not leave empty lines. Errors are
 * counted and the pass goes on, to report them all.
 */
#include "templates/compile.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERRORS 20 /* per piece of text: one bad file is not a flood */

const char *const tmpl_msg_names[] = {"unsubscribe_url", "optout_text",
                                      "student_id", "template", NULL};
const char *const tmpl_alert_names[] = {"count", "level", "recipient", NULL};

static const struct {
    const char *name;
    enum tmpl_filter filter;
} filters[] = {
    {"mask", FILTER_MASK},
    {"date", FILTER_DATE},
    {"number", FILTER_NUMBER},
};

static const struct {
    const char *prefix;
    enum tmpl_ns ns;
} prefixes[] = {
    {"owner.", NS_OWNER},
    {"supervisor.", NS_SUPERVISOR},
    {"school.", NS_SCHOOL},
    {"msg.", NS_MSG},
};

struct open_section {
    size_t op;   /* its SECTION op */
    size_t at;   /* offset of its {{, for messages */
    uint32_t ref;
};

struct compiler {
    const char *src;
    size_t n;
    const struct tmpl_pos *pos;
    const struct attrs *school;
    const char *allowed; /* student attributes; NULL: any */
    struct diag *d;
    int errors;
    int oom;
    int barrier; /* a section began or ended: text starts a new op */
    struct tmpl_prog *p;
    struct open_section stack[TMPL_MAX_DEPTH];
    int depth;
};

/* --- errors -------------------------------------------------------------- */

void tmpl_where(const char *text, size_t offset, const struct tmpl_pos *pos,
                int *line, int *col)
{
    int l = pos->line, c = pos->col;

    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)text[i] & 0xc0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static void error_at(struct compiler *c, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void error_at(struct compiler *c, size_t at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    int line, col;

    if (++c->errors > MAX_ERRORS)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tmpl_where(c->src, at, c->pos, &line, &col);
    diag_error(c->d, c->pos->file, line, col, "%s", msg);
}

/* --- the program --------------------------------------------------------- */

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
    size_t ncap;
    void *nv;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    if (!(nv = realloc(*v, ncap * size)))
        return -1;
    *v = nv;
    *cap = ncap;
    return 0;
}

static struct tmpl_op *add_op(struct compiler *c, enum tmpl_op_kind kind)
{
    struct tmpl_prog *p = c->p;
    struct tmpl_op *op;

    if (grow((void **)&p->ops, &p->capops, p->nops + 1, sizeof *p->ops) < 0) {
        c->oom = 1;
        return NULL;
    }
    op = &p->ops[p->nops++];
    memset(op, 0, sizeof *op);
    op->kind = (unsigned char)kind;
    return op;
}

/* Copies s into the text pool; returns its offset, or -1. */
static long add_text(struct compiler *c, const char *s, size_t n)
{
    struct tmpl_prog *p = c->p;
    size_t off = p->ntext;

    if (grow((void **)&p->text, &p->captext, p->ntext + n + 1, 1) < 0) {
        c->oom = 1;
        return -1;
    }
    memcpy(p->text + off, s, n);
    p->ntext += n;
    p->text[p->ntext] = '\0';
    return (long)off;
}

/* Text goes into the last op when it is text that ends the pool. */
static int emit_text(struct compiler *c, const char *s, size_t n)
{
    struct tmpl_prog *p = c->p;
    struct tmpl_op *last = p->nops ? &p->ops[p->nops - 1] : NULL;
    long off;

    if (n == 0)
        return 0;
    if ((off = add_text(c, s, n)) < 0)
        return -1;
    if (last && !c->barrier && last->kind == OP_TEXT &&
        last->off + last->len == (size_t)off) {
        last->len += (uint32_t)n;
        return 0;
    }
    c->barrier = 0;
    if (!(last = add_op(c, OP_TEXT)))
        return -1;
    last->off = (uint32_t)off;
    last->len = (uint32_t)n;
    return 0;
}

/* The index of the name in refs, added when new; -1 on no memory. */
static long add_ref(struct compiler *c, enum tmpl_ns ns, const char *full,
                    size_t n, size_t keyoff)
{
    struct tmpl_prog *p = c->p;
    struct tmpl_ref *r;

    for (size_t i = 0; i < p->nrefs; i++)
        if (strlen(p->refs[i].full) == n &&
            memcmp(p->refs[i].full, full, n) == 0)
            return (long)i;
    if (grow((void **)&p->refs, &p->caprefs, p->nrefs + 1, sizeof *p->refs) <
        0)
        return -1;
    r = &p->refs[p->nrefs];
    memset(r, 0, sizeof *r);
    r->ns = ns;
    if (!(r->full = strndup(full, n)) ||
        !(r->key = strdup(r->full + keyoff))) {
        free(r->full);
        return -1;
    }
    return (long)p->nrefs++;
}

void tmpl_prog_free(struct tmpl_prog *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nrefs; i++) {
        free(p->refs[i].key);
        free(p->refs[i].full);
    }
    free(p->refs);
    free(p->sms);
    free(p->ops);
    free(p->text);
    free(p);
}

/* --- names --------------------------------------------------------------- */

static int is_name_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

static int valid_word(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_name_char((unsigned char)s[i]))
            return 0;
    return 1;
}

/* A tag: any printable text but blanks, braces and bars (UTF-8 is fine). */
static int valid_tag(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= ' ' || ch == 0x7f || ch == '{' || ch == '}' || ch == '|')
            return 0;
    }
    return 1;
}

static int in_list(const char *const *list, const char *s, size_t n)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, s, n) == 0)
            return 1;
    return 0;
}

/* Is s[0..n) one of the names of list (split by spaces or commas)? */
static int in_names(const char *list, const char *s, size_t n)
{
    const char *seps = " ,\t";

    for (const char *p = list + strspn(list, seps); *p;
         p += strspn(p, seps)) {
        size_t len = strcspn(p, seps);
        if (len == n && memcmp(p, s, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

/* Data minimisation: a student attribute must be one the config allows. */
static int attribute_allowed(const struct compiler *c, const char *s,
                             size_t n)
{
    return !c->allowed || !*c->allowed || in_names(c->allowed, s, n) ||
           in_list(tmpl_alert_names, s, n);
}

/* Checks what a name of namespace ns may be; 0, or -1 after an error. */
static int check_key(struct compiler *c, size_t at, enum tmpl_ns ns,
                     const char *full, size_t n, size_t keyoff)
{
    const char *key = full + keyoff;
    size_t klen = n - keyoff;
    char name[256];

    if (ns == NS_MSG && !in_list(tmpl_msg_names, key, klen)) {
        error_at(c, at,
                 "unknown message value \"%.*s\": use msg.unsubscribe_url, "
                 "msg.optout_text, msg.student_id or msg.template",
                 (int)n, full);
        return -1;
    }
    if (ns == NS_STUDENT && !attribute_allowed(c, key, klen)) {
        error_at(c, at,
                 "the student attribute \"%.*s\" is not in [templates] "
                 "allowed_attributes: add it there if templates may use it "
                 "(data minimisation, docs/policy.md), or leave it out",
                 (int)klen, key);
        return -1;
    }
    if (ns == NS_SCHOOL && c->school) {
        snprintf(name, sizeof name, "%.*s", (int)klen, key);
        if (!attrs_get(c->school, name)) {
            error_at(c, at,
                     "\"%.*s\" is not in the [school] section of the config",
                     (int)n, full);
            return -1;
        }
    }
    return 0;
}

/* Parses the name full[0..n) into a ref index; -1 after an error. */
static long parse_name(struct compiler *c, size_t at, const char *full,
                       size_t n)
{
    enum tmpl_ns ns = NS_STUDENT;
    size_t keyoff = 0;
    long r;

    if (n > 4 && memcmp(full, "tag:", 4) == 0) {
        if (!valid_tag(full + 4, n - 4)) {
            error_at(c, at, "invalid tag \"%.*s\"", (int)n, full);
            return -1;
        }
        ns = NS_TAG;
        keyoff = 4;
    } else {
        const char *dot = memchr(full, '.', n);
        if (dot) {
            size_t plen = (size_t)(dot - full) + 1;
            size_t i;
            for (i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
                if (strlen(prefixes[i].prefix) == plen &&
                    memcmp(prefixes[i].prefix, full, plen) == 0)
                    break;
            if (i == sizeof prefixes / sizeof prefixes[0]) {
                error_at(c, at,
                         "unknown prefix \"%.*s\" in \"%.*s\": use owner., "
                         "supervisor., school. or msg.",
                         (int)plen, full, (int)n, full);
                return -1;
            }
            ns = prefixes[i].ns;
            keyoff = plen;
        }
        if (!valid_word(full + keyoff, n - keyoff)) {
            error_at(c, at,
                     "invalid name \"%.*s\": use letters, digits, _ and -, "
                     "after owner., supervisor., school. or msg.",
                     (int)n, full);
            return -1;
        }
        if (check_key(c, at, ns, full, n, keyoff) < 0)
            return -1;
    }
    if ((r = add_ref(c, ns, full, n, keyoff)) < 0)
        c->oom = 1;
    return r;
}

/* --- tags ---------------------------------------------------------------- */

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* True when a non-inverted open section tests this very name. */
static int guarded(const struct compiler *c, uint32_t ref)
{
    for (int i = 0; i < c->depth; i++)
        if (c->stack[i].ref == ref && !c->p->ops[c->stack[i].op].inverted)
            return 1;
    return 0;
}

static int parse_filter(struct compiler *c, size_t at, const char *s,
                        size_t n)
{
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        if (strlen(filters[i].name) == n && memcmp(filters[i].name, s, n) == 0)
            return filters[i].filter;
    error_at(c, at, "unknown filter \"%.*s\": use mask, date or number",
             (int)n, s);
    return -1;
}

/* {{[filter ]name[|default]}} */
static void compile_value(struct compiler *c, size_t at, const char *s,
                          size_t n)
{
    const char *bar = memchr(s, '|', n), *sp;
    const char *name = s, *def = NULL;
    size_t nlen = bar ? (size_t)(bar - s) : n, dlen = 0;
    int filter = FILTER_NONE;
    long ref, doff = 0;
    struct tmpl_op *op;

    if (bar) {
        def = bar + 1;
        dlen = n - nlen - 1;
        trim(&def, &dlen);
    }
    trim(&name, &nlen);
    if ((sp = memchr(name, ' ', nlen)) || (sp = memchr(name, '\t', nlen))) {
        if ((filter = parse_filter(c, at, name, (size_t)(sp - name))) < 0)
            return;
        nlen -= (size_t)(sp - name);
        name = sp;
        trim(&name, &nlen);
    }
    if (nlen == 0) {
        error_at(c, at, "empty placeholder: put a name between {{ and }}");
        return;
    }
    if ((ref = parse_name(c, at, name, nlen)) < 0)
        return;
    if (c->p->refs[ref].ns == NS_TAG) {
        error_at(c, at,
                 "a tag is a test, not a value: use {{#%.*s}}...{{/%.*s}}",
                 (int)nlen, name, (int)nlen, name);
        return;
    }
    if (def && (doff = add_text(c, def, dlen)) < 0)
        return;
    if (!(op = add_op(c, OP_VALUE)))
        return;
    op->ref = (uint32_t)ref;
    op->filter = (unsigned char)filter;
    op->has_default = def != NULL;
    op->off = (uint32_t)doff;
    op->len = (uint32_t)dlen;
    c->p->refs[ref].use |=
        def || guarded(c, (uint32_t)ref) ? REF_OPTIONAL : REF_REQUIRED;
}

/* {{#name}} and {{^name}} */
static void open_section(struct compiler *c, size_t at, const char *s,
                         size_t n, int inverted)
{
    long ref;
    struct tmpl_op *op;

    trim(&s, &n);
    if (n == 0) {
        error_at(c, at, "a section needs a name: {{#name}}...{{/name}}");
        return;
    }
    if ((ref = parse_name(c, at, s, n)) < 0)
        return;
    if (c->depth == TMPL_MAX_DEPTH) {
        error_at(c, at, "sections nested deeper than %d", TMPL_MAX_DEPTH);
        return;
    }
    if (!(op = add_op(c, OP_SECTION)))
        return;
    op->ref = (uint32_t)ref;
    op->inverted = (unsigned char)inverted;
    c->p->refs[ref].use |= REF_OPTIONAL;
    c->barrier = 1;
    c->stack[c->depth].op = c->p->nops - 1;
    c->stack[c->depth].at = at;
    c->stack[c->depth].ref = (uint32_t)ref;
    c->depth++;
}

static const char *section_name(const struct compiler *c,
                                const struct open_section *o)
{
    return c->p->refs[o->ref].full;
}

/* {{/name}} */
static void close_section(struct compiler *c, size_t at, const char *s,
                          size_t n)
{
    struct open_section *top;
    int line, col;

    trim(&s, &n);
    if (c->depth == 0) {
        error_at(c, at, "\"{{/%.*s}}\" closes no open section", (int)n, s);
        return;
    }
    top = &c->stack[c->depth - 1];
    if (strlen(section_name(c, top)) != n ||
        memcmp(section_name(c, top), s, n) != 0) {
        tmpl_where(c->src, top->at, c->pos, &line, &col);
        error_at(c, at, "\"{{/%.*s}}\" does not close \"%s\", opened at %d:%d",
                 (int)n, s, section_name(c, top), line, col);
        return;
    }
    c->p->ops[top->op].end = (uint32_t)c->p->nops;
    c->barrier = 1;
    c->depth--;
}

/* --- the pass ------------------------------------------------------------ */

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Sections, closes and comments alone on their line take the line away:
 * sets *from (start of the line) and *to (after its line break). */
static int standalone(const struct compiler *c, size_t open, size_t close,
                      size_t *from, size_t *to)
{
    size_t a = open, b = close;

    while (a > 0 && is_blank(c->src[a - 1]))
        a--;
    if (a > 0 && c->src[a - 1] != '\n')
        return 0;
    while (b < c->n && is_blank(c->src[b]))
        b++;
    if (b < c->n && c->src[b] == '\r' && b + 1 < c->n && c->src[b + 1] == '\n')
        b++;
    if (b < c->n && c->src[b] != '\n')
        return 0;
    *from = a;
    *to = b < c->n ? b + 1 : b;
    return 1;
}

static void compile_tag(struct compiler *c, size_t at, const char *s,
                        size_t n)
{
    const char *body = s;
    size_t blen = n;

    trim(&body, &blen);
    switch (blen ? body[0] : '\0') {
    case '!':
        return;
    case '#':
        open_section(c, at, body + 1, blen - 1, 0);
        return;
    case '^':
        open_section(c, at, body + 1, blen - 1, 1);
        return;
    case '/':
        close_section(c, at, body + 1, blen - 1);
        return;
    default:
        compile_value(c, at, body, blen);
    }
}

static int block_tag(const char *s, size_t n)
{
    while (n && is_blank(*s)) {
        s++;
        n--;
    }
    return n && (*s == '!' || *s == '#' || *s == '^' || *s == '/');
}

/* Handles the tag opening at j; returns where the text goes on. */
static size_t one_tag(struct compiler *c, size_t i, size_t j)
{
    const char *end = memmem(c->src + j + 2, c->n - j - 2, "}}", 2);
    const char *inner;
    size_t k, from, to;

    if (!end) {
        emit_text(c, c->src + i, j - i);
        error_at(c, j, "unclosed \"{{\": expected \"}}\"");
        return c->n;
    }
    k = (size_t)(end - c->src);
    inner = memmem(c->src + j + 2, k - j - 2, "{{", 2);
    if (inner) {
        emit_text(c, c->src + i, j - i);
        error_at(c, (size_t)(inner - c->src),
                 "\"{{\" inside a placeholder: close the placeholder "
                 "with \"}}\" first");
        return k + 2;
    }
    if (block_tag(c->src + j + 2, k - j - 2) &&
        standalone(c, j, k + 2, &from, &to) && from >= i) {
        emit_text(c, c->src + i, from - i);
        compile_tag(c, j, c->src + j + 2, k - j - 2);
        return to;
    }
    emit_text(c, c->src + i, j - i);
    compile_tag(c, j, c->src + j + 2, k - j - 2);
    return k + 2;
}

static void compile_all(struct compiler *c)
{
    size_t i = 0;

    while (i < c->n) {
        const char *open = memmem(c->src + i, c->n - i, "{{", 2);
        size_t j;

        if (!open) {
            emit_text(c, c->src + i, c->n - i);
            break;
        }
        j = (size_t)(open - c->src);
        if (j > i && c->src[j - 1] == '\\') { /* \{{ is a literal {{ */
            emit_text(c, c->src + i, j - 1 - i);
            emit_text(c, "{{", 2);
            i = j + 2;
            continue;
        }
        i = one_tag(c, i, j);
    }
    for (int d = c->depth - 1; d >= 0; d--)
        error_at(c, c->stack[d].at, "section \"%s\" is never closed: add "
                 "{{/%s}}",
                 section_name(c, &c->stack[d]), section_name(c, &c->stack[d]));
}

struct tmpl_prog *tmpl_compile(const char *text, size_t n,
                               const struct tmpl_pos *pos,
                               const struct attrs *school, struct diag *d)
{
    struct tmpl_names names = {school, NULL};

    return tmpl_compile_names(text, n, pos, &names, d);
}

struct tmpl_prog *tmpl_compile_names(const char *text, size_t n,
                                     const struct tmpl_pos *pos,
                                     const struct tmpl_names *names,
                                     struct diag *d)
{
    struct compiler c;

    memset(&c, 0, sizeof c);
    c.src = text;
    c.n = n;
    c.pos = pos;
    c.school = names->school;
    c.allowed = names->allowed;
    c.d = d;
    if (!(c.p = calloc(1, sizeof *c.p)))
        return NULL;
    if (add_text(&c, "", 0) < 0) { /* text is never NULL */
        free(c.p);
        return NULL;
    }
    if (n > UINT32_MAX / 2)
        error_at(&c, 0, "the text is too long");
    else
        compile_all(&c);
    if (c.oom)
        error_at(&c, 0, "out of memory");
    if (c.errors > 0) {
        tmpl_prog_free(c.p);
        return NULL;
    }
    return c.p;
}
