/*
 * render.c - the template program's interpreter (see render.h).
 */
#include "templates/render.h"

#include <stdio.h>
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

enum tmpl_status tmpl_exec(const struct tmpl_prog *p, enum tmpl_esc esc,
                           tmpl_lookup_fn lookup, void *arg, struct tbuf *out,
                           char *why, size_t whylen)
{
    const struct tmpl_op *ops = p->ops;
    size_t ip = 0;
    enum tmpl_status st;

    while (ip < p->nops) {
        const struct tmpl_op *op = &ops[ip];
        switch (op->kind) {
        case OP_TEXT:
            tbuf_add(out, p->text + op->off, op->len);
            ip++;
            break;
        case OP_VALUE:
            st = put_value(p, op, esc, lookup, arg, out, why, whylen);
            if (st != TMPL_OK)
                return st;
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
    return TMPL_OK;
}
