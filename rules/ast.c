/*
 * ast.c - freeing and naming the parts of a parsed rules file (ast.h).
 */
#include "rules/ast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"

void cond_free(struct cond *c)
{
    if (!c)
        return;
    cond_free(c->a);
    cond_free(c->b);
    free(c->name);
    for (size_t i = 0; i < c->nvals; i++)
        free(c->vals[i].text);
    free(c->vals);
    free(c->re);
    free(c);
}

void step_clear(struct step *s)
{
    free(s->channel);
    free(s->tmpl);
    free(s->arg);
    cond_free(s->cond);
    for (size_t i = 0; i < s->nvariants; i++)
        free(s->variants[i].tmpl);
    free(s->variants);
}

static void rule_clear(struct rule *r)
{
    free(r->name);
    free(r->trig.arg);
    cond_free(r->when);
    for (size_t i = 0; i < r->nsteps; i++)
        step_clear(&r->steps[i]);
    free(r->steps);
}

void rule_file_free(struct rule_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nrules; i++)
        rule_clear(&f->rules[i]);
    free(f->rules);
    for (size_t i = 0; i < f->nstages; i++)
        free(f->stages[i].name);
    free(f->stages);
    free(f->path);
    free(f);
}

const char *cmp_op_name(enum cmp_op op)
{
    static const char *const names[] = {
        "==", "!=", "<", "<=", ">", ">=", "in", "matches"};
    return names[op];
}

const char *step_kind_name(enum step_kind k)
{
    static const char *const names[] = {"wait",    "send",       "stop",
                                        "tag add", "tag remove", "assign",
                                        "notify",  "escalate"};
    return names[k];
}

/* A growing text in a fixed buffer. */
struct fmt {
    char *buf;
    size_t n, len;
};

static void put(struct fmt *f, const char *s)
{
    size_t l = strlen(s);

    if (f->len + 1 >= f->n)
        return;
    if (l > f->n - f->len - 1)
        l = f->n - f->len - 1;
    memcpy(f->buf + f->len, s, l);
    f->len += l;
    f->buf[f->len] = 0;
}

static void put_value(struct fmt *f, const struct value *v, int bare)
{
    if (v->is_num || bare) {
        put(f, v->text);
        return;
    }
    put(f, "\"");
    put(f, v->text);
    put(f, "\"");
}

static void put_values(struct fmt *f, const struct cond *c, int bare)
{
    if (c->op != CMP_IN) {
        put(f, " ");
        put(f, cmp_op_name(c->op));
        put(f, " ");
        put_value(f, &c->vals[0], bare);
        return;
    }
    put(f, " in (");
    for (size_t i = 0; i < c->nvals; i++) {
        if (i)
            put(f, ", ");
        put_value(f, &c->vals[i], bare);
    }
    put(f, ")");
}

static void put_cond(struct fmt *f, const struct cond *c, int parens);

static void put_regex(struct fmt *f, const struct cond *c)
{
    put(f, " matches /");
    put(f, c->re);
    put(f, "/");
    put(f, c->re_flags);
}

static void put_leaf(struct fmt *f, const struct cond *c)
{
    char dur[32];

    switch (c->kind) {
    case COND_STAGE:
        put(f, "stage");
        put_values(f, c, 1);
        break;
    case COND_TAG:
        put(f, "tag \"");
        put(f, c->name);
        put(f, "\"");
        break;
    case COND_TAG_MATCH:
        put(f, "tag");
        put_regex(f, c);
        break;
    case COND_ATTR:
        put(f, c->name);
        if (c->op == CMP_MATCH)
            put_regex(f, c);
        else
            put_values(f, c, 0);
        break;
    case COND_PRESENT:
        put(f, c->name);
        break;
    case COND_FOLLOWED_UP:
        put(f, "followed_up");
        break;
    default:
        put(f,
            c->kind == COND_IN_STAGE ? "time_in_stage " : "time_since_touch ");
        put(f, cmp_op_name(c->op));
        put(f, " ");
        put(f, duration_format(c->ms, dur, sizeof dur));
        break;
    }
}

static void put_cond(struct fmt *f, const struct cond *c, int parens)
{
    if (c->kind == COND_AND || c->kind == COND_OR) {
        if (parens)
            put(f, "(");
        put_cond(f, c->a, c->a->kind != c->kind);
        put(f, c->kind == COND_AND ? " and " : " or ");
        put_cond(f, c->b, 1);
        if (parens)
            put(f, ")");
    } else if (c->kind == COND_NOT) {
        put(f, "not ");
        put_cond(f, c->a, 1);
    } else {
        put_leaf(f, c);
    }
}

char *cond_format(const struct cond *c, char *buf, size_t n)
{
    struct fmt f = {buf, n, 0};

    if (n)
        buf[0] = 0;
    if (c)
        put_cond(&f, c, 0);
    return buf;
}
