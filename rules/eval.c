/*
 * eval.c - conditions against a student view (see eval.h).
 */
#include "rules/eval.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rval_number(const char *s, double *out)
{
    char *end;
    const char *p = s;
    int64_t whole = 0;
    int digits = 0;

    if (*p == '-' || *p == '+')
        p++;
    /* most values are small whole numbers (scores, times): no strtod */
    while (*p >= '0' && *p <= '9' && digits < 15) {
        whole = whole * 10 + (*p++ - '0');
        digits++;
    }
    if (digits && *p == 0) {
        *out = (double)(*s == '-' ? -whole : whole);
        return 1;
    }
    p = s + (*s == '-' || *s == '+');
    if (!isdigit((unsigned char)*p) &&
        !(*p == '.' && isdigit((unsigned char)p[1])))
        return 0;
    *out = strtod(s, &end);
    while (*end == ' ')
        end++;
    return *end == 0;
}

int rview_init(struct rview *v, const struct ruleset *set)
{
    memset(v, 0, sizeof *v);
    v->set = set;
    v->ntagwords = set->tags.n / 64 + 1;
    v->tags = calloc(v->ntagwords, sizeof *v->tags);
    v->slots = calloc(set->attrs.n + 1, sizeof *v->slots);
    v->md = pcre2_match_data_create(8, NULL);
    if (!v->tags || !v->slots || !v->md) {
        rview_free(v);
        return -1;
    }
    return 0;
}

void rview_free(struct rview *v)
{
    free(v->tags);
    free(v->slots);
    if (v->md)
        pcre2_match_data_free(v->md);
    memset(v, 0, sizeof *v);
}

static int64_t unix_ms(const char *s)
{
    double t;
    return s && rval_number(s, &t) && t > 0 ? (int64_t)(t * 1000) : -1;
}

void rview_load(struct rview *v, const struct student *st, int64_t now_ms)
{
    const struct ruleset *set = v->set;
    const char *stage;

    v->st = st;
    v->now_ms = now_ms;
    v->followed_up = 0;
    v->last_touch_ms =
        set->uses_touch ? unix_ms(student_get(st, "last_touch_at")) : -1;
    if (++v->gen == 0) { /* wrapped: every slot must reload */
        memset(v->slots, 0, (set->attrs.n + 1) * sizeof *v->slots);
        v->gen = 1;
    }
    stage = student_get(st, "stage");
    v->has_stage = stage && stage[0];
    v->stage = stage ? intern_find(&set->stages, stage) : -1;
    v->stage_at_ms =
        set->uses_in_stage ? unix_ms(student_get(st, "stage_at")) : -1;
    memset(v->tags, 0, v->ntagwords * sizeof *v->tags);
    for (size_t i = 0; i < st->tags.n; i++) {
        int id = intern_find(&set->tags, st->tags.v[i]);
        if (id >= 0)
            v->tags[id / 64] |= 1ull << (id % 64);
    }
}

static const struct rslot *slot(struct rview *v, int32_t k)
{
    struct rslot *s = &v->slots[k];

    if (s->gen != v->gen) {
        s->gen = v->gen;
        s->s = student_get(v->st, v->set->attrs.names[k]);
        s->numeric = s->s && rval_number(s->s, &s->num);
    }
    return s;
}

static int compare(double a, int cmp, double b)
{
    switch (cmp) {
    case CMP_EQ:
        return a == b;
    case CMP_NE:
        return a != b;
    case CMP_LT:
        return a < b;
    case CMP_LE:
        return a <= b;
    case CMP_GT:
        return a > b;
    case CMP_GE:
        return a >= b;
    default:
        return 0;
    }
}

static int re_match(struct rview *v, int32_t re, const char *s)
{
    return pcre2_match(v->set->res[re], (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0,
                       0, v->md, NULL) >= 0;
}

static int value_equal(const struct rslot *s, const struct value *val)
{
    if (val->is_num)
        return s->numeric && s->num == val->num;
    return strcmp(s->s, val->text) == 0;
}

static int eval_attr_in(struct rview *v, const struct cnode *n)
{
    const struct rslot *s = slot(v, n->arg);

    if (!s->s)
        return 0;
    for (size_t i = 0; i < n->nvals; i++)
        if (value_equal(s, &n->vals[i]))
            return 1;
    return 0;
}

static int eval_tag_re(struct rview *v, const struct cnode *n)
{
    for (size_t i = 0; i < v->st->tags.n; i++)
        if (re_match(v, n->arg, v->st->tags.v[i]))
            return 1;
    return 0;
}

static int eval_leaf(const struct cnode *n, struct rview *v)
{
    const struct rslot *s;

    switch (n->op) {
    case OP_STAGE_IN: {
        const struct stage_set *set = &v->set->stage_sets[n->arg];
        int in =
            v->stage >= 0 && (set->bits[v->stage / 64] >> (v->stage % 64)) & 1;
        return v->has_stage && (n->neg ? !in : in);
    }
    case OP_TAG:
        return (v->tags[n->arg / 64] >> (n->arg % 64)) & 1;
    case OP_TAG_RE:
        return eval_tag_re(v, n);
    case OP_ATTR_NUM:
        s = slot(v, n->arg);
        return s->numeric && compare(s->num, n->cmp, n->num);
    case OP_ATTR_STR:
        s = slot(v, n->arg);
        return s->s && (strcmp(s->s, n->str) == 0) == (n->cmp == CMP_EQ);
    case OP_ATTR_IN:
        return eval_attr_in(v, n);
    case OP_ATTR_RE:
        s = slot(v, n->arg);
        return s->s && re_match(v, n->re, s->s);
    case OP_PRESENT:
        s = slot(v, n->arg);
        return s->s && s->s[0];
    case OP_FOLLOWED_UP:
        return v->followed_up;
    case OP_IN_STAGE:
        return v->stage_at_ms >= 0 &&
               compare((double)(v->now_ms - v->stage_at_ms), n->cmp, n->num);
    case OP_SINCE_TOUCH:
        return v->last_touch_ms >= 0 &&
               compare((double)(v->now_ms - v->last_touch_ms), n->cmp, n->num);
    default:
        return 0;
    }
}

int rule_cond(const struct crule *r, int root, struct rview *v)
{
    const struct cnode *n;

    if (root < 0)
        return 1;
    n = &r->nodes[root];
    switch (n->op) {
    case OP_AND:
        return rule_cond(r, n->a, v) && rule_cond(r, n->b, v);
    case OP_OR:
        return rule_cond(r, n->a, v) || rule_cond(r, n->b, v);
    case OP_NOT:
        return !rule_cond(r, n->a, v);
    default:
        return eval_leaf(n, v);
    }
}

int rule_when(const struct crule *r, struct rview *v)
{
    return rule_cond(r, r->when, v);
}

/* Kleene's three-valued logic, the tags unknown: 0, 1 or MAYBE. */
enum { MAYBE = 2 };

static int cond_without_tags(const struct crule *r, int root, struct rview *v)
{
    const struct cnode *n;
    int a, b;

    if (root < 0)
        return 1;
    n = &r->nodes[root];
    switch (n->op) {
    case OP_AND:
        if ((a = cond_without_tags(r, n->a, v)) == 0)
            return 0;
        if ((b = cond_without_tags(r, n->b, v)) == 0)
            return 0;
        return a == 1 && b == 1 ? 1 : MAYBE;
    case OP_OR:
        if ((a = cond_without_tags(r, n->a, v)) == 1)
            return 1;
        if ((b = cond_without_tags(r, n->b, v)) == 1)
            return 1;
        return a == 0 && b == 0 ? 0 : MAYBE;
    case OP_NOT:
        a = cond_without_tags(r, n->a, v);
        return a == MAYBE ? MAYBE : !a;
    case OP_TAG:
    case OP_TAG_RE:
        return MAYBE;
    default:
        return eval_leaf(n, v);
    }
}

int rule_when_may_hold(const struct crule *r, struct rview *v)
{
    return cond_without_tags(r, r->when, v) != 0;
}

/* --- explanations ------------------------------------------------------- */

/* What the student has for a leaf, in parentheses: "(score is 580)". */
static void leaf_value(const struct cnode *n, struct rview *v, char *buf,
                       size_t len)
{
    const struct rslot *s;
    const char *stage;

    buf[0] = 0;
    switch (n->op) {
    case OP_STAGE_IN:
        stage = student_get(v->st, "stage");
        snprintf(buf, len, " (stage is %s%s%s)", stage ? "\"" : "",
                 stage ? stage : "missing", stage ? "\"" : "");
        break;
    case OP_ATTR_NUM:
    case OP_ATTR_STR:
    case OP_ATTR_IN:
    case OP_ATTR_RE:
    case OP_PRESENT:
        s = slot(v, n->arg);
        if (!s->s)
            snprintf(buf, len, " (%s is missing)", v->set->attrs.names[n->arg]);
        else if (n->op == OP_ATTR_NUM && !s->numeric)
            snprintf(buf, len, " (%s is \"%.60s\", not a number)",
                     v->set->attrs.names[n->arg], s->s);
        else if (n->op != OP_PRESENT)
            snprintf(buf, len, " (%s is \"%.60s\")",
                     v->set->attrs.names[n->arg], s->s);
        break;
    case OP_IN_STAGE:
        if (v->stage_at_ms < 0)
            snprintf(buf, len, " (stage_at is missing)");
        break;
    default:
        break;
    }
}

static void explain_false(const struct crule *r, int root, struct rview *v,
                          char *why, size_t n)
{
    const struct cnode *c = &r->nodes[root];
    char text[512], val[128];

    if (c->op == OP_AND) {
        explain_false(r, rule_cond(r, c->a, v) ? c->b : c->a, v, why, n);
        return;
    }
    cond_format(c->src, text, sizeof text);
    if (c->op == OP_OR || c->op == OP_NOT)
        snprintf(why, n, "%s", text);
    else {
        leaf_value(c, v, val, sizeof val);
        snprintf(why, n, "%s%s", text, val);
    }
}

int rule_cond_explain(const struct crule *r, int root, struct rview *v,
                      char *why, size_t n)
{
    int ok = rule_cond(r, root, v);

    if (n)
        why[0] = 0;
    if (!ok && n)
        explain_false(r, root, v, why, n);
    return ok;
}
