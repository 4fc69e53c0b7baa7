/*
 * render.c - the template program's interpreter (see render.h).
 */
#include "templates/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "templates/filter.h"

int tmpl_present(const char *v)
{
    if (!v)
        return 0;
    for (; *v; v++)
        if (*v != ' ' && *v != '\t')
            return 1;
    return 0;
}

static const struct tmpl_ref lang_ref = {NS_STUDENT, 0, "lang", "lang"};

/* Writes the value of a VALUE op; TMPL_OK or why not. */
static enum tmpl_status put_value(const struct tmpl_prog *p,
                                  const struct tmpl_op *op, enum tmpl_esc esc,
                                  tmpl_lookup_fn lookup, void *arg,
                                  struct tbuf *out, char *why, size_t whylen)
{
    const struct tmpl_ref *ref = &p->refs[op->ref];
    const char *v = lookup(arg, ref);
    char filtered[FILTER_OUT_MAX], err[128];
    size_t len;

    if (!tmpl_present(v)) {
        if (!op->has_default) {
            snprintf(why, whylen, "missing %s", ref->full);
            return TMPL_MISSING;
        }
        tmpl_esc_append(out, esc, p->text + op->off, op->len);
        return TMPL_OK;
    }
    if ((len = strlen(v)) > TMPL_VALUE_MAX) {
        snprintf(why, whylen,
                 "the value of %s is too long: %zu bytes, at most %d",
                 ref->full, len, TMPL_VALUE_MAX);
        return TMPL_INVALID;
    }
    if (op->filter != FILTER_NONE) {
        if (tmpl_filter_apply(op->filter, v, lookup(arg, &lang_ref), filtered,
                              err, sizeof err) < 0) {
            snprintf(why, whylen, "the value of %s is %s", ref->full, err);
            return TMPL_INVALID;
        }
        v = filtered;
        len = strlen(v);
    }
    tmpl_esc_append(out, esc, v, len);
    return TMPL_OK;
}

/* Adds the counts of the text op at ip: counted when compiled, or now. */
static void count_text(const struct tmpl_prog *p, size_t ip,
                       struct sms_count *count)
{
    const struct tmpl_op *op = &p->ops[ip];

    if (p->sms)
        tmpl_sms_count_add(count, &p->sms[ip]);
    else
        tmpl_sms_count(count, p->text + op->off, op->len);
}

/* The values written, counted after the text that follows them: a load
 * of bytes a memcpy has just stored waits for the stores to land, and
 * counting each value at once did that for every value. The counts add
 * up in any order. */
#define PENDING_MAX 16

struct pending {
    size_t from[PENDING_MAX], to[PENDING_MAX];
    int n;
};

static void count_pending(struct pending *pd, const struct tbuf *out,
                          struct sms_count *count)
{
    for (int i = 0; i < pd->n; i++)
        tmpl_sms_count_at(count, out->p, pd->from[i], pd->to[i]);
    pd->n = 0;
}

static void count_value(struct pending *pd, const struct tbuf *out,
                        size_t at, struct sms_count *count)
{
    if (pd->n == PENDING_MAX)
        count_pending(pd, out, count);
    pd->from[pd->n] = at;
    pd->to[pd->n++] = out->len;
}

/* The interpreter; count, when not NULL, gets the SMS counts of what is
 * appended. */
static enum tmpl_status exec(const struct tmpl_prog *p, enum tmpl_esc esc,
                             tmpl_lookup_fn lookup, void *arg,
                             struct tbuf *out, struct sms_count *count,
                             char *why, size_t whylen)
{
    const struct tmpl_op *ops = p->ops;
    struct pending pd;
    size_t ip = 0, at;
    enum tmpl_status st;

    pd.n = 0;

    while (ip < p->nops) {
        const struct tmpl_op *op = &ops[ip];
        switch (op->kind) {
        case OP_TEXT:
            tbuf_add(out, p->text + op->off, op->len);
            if (count)
                count_text(p, ip, count);
            ip++;
            break;
        case OP_VALUE:
            at = out->len;
            st = put_value(p, op, esc, lookup, arg, out, why, whylen);
            if (st != TMPL_OK)
                return st;
            if (count)
                count_value(&pd, out, at, count);
            ip++;
            break;
        default: {
            int shown = tmpl_present(lookup(arg, &p->refs[op->ref]));
            ip = shown != op->inverted ? ip + 1 : op->end;
        }
        }
    }
    if (out->oom) {
        snprintf(why, whylen, "out of memory");
        return TMPL_INVALID;
    }
    if (count)
        count_pending(&pd, out, count);
    return TMPL_OK;
}

enum tmpl_status tmpl_exec(const struct tmpl_prog *p, enum tmpl_esc esc,
                           tmpl_lookup_fn lookup, void *arg, struct tbuf *out,
                           char *why, size_t whylen)
{
    return exec(p, esc, lookup, arg, out, NULL, why, whylen);
}

enum tmpl_status tmpl_exec_sms(const struct tmpl_prog *p, tmpl_lookup_fn lookup,
                               void *arg, struct tbuf *out,
                               struct sms_count *count, char *why,
                               size_t whylen)
{
    return exec(p, ESC_PLAIN, lookup, arg, out, count, why, whylen);
}

int tmpl_prog_count_sms(struct tmpl_prog *p)
{
    struct sms_count *c;

    if (p->sms || p->nops == 0)
        return 0;
    if (!(c = calloc(p->nops, sizeof *c)))
        return -1;
    for (size_t i = 0; i < p->nops; i++)
        if (p->ops[i].kind == OP_TEXT)
            tmpl_sms_count(&c[i], p->text + p->ops[i].off, p->ops[i].len);
    p->sms = c;
    return 0;
}
