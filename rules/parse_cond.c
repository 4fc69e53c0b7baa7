/*
 * parse_cond.c - the rule parser's conditions and values (see
 * parser_int.h): `stage == S`, `stage in (...)`, `tag "t"`, `tag matches
 * /re/`, attribute comparisons, presence, `followed_up`, times in stage
 * and since the last touch, joined by `and`, `or`, `not` and parentheses,
 * as docs/rules.md's grammar has them; and the durations of waits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"
#include "rules/parser_int.h"

static const char *const reserved_words[] = {"and", "or", "not", "in",
                                             "matches"};

/* --- values ----------------------------------------------------------------
 */

static int parse_value(struct parser *p, struct value *v)
{
    struct token *t = tok_peek(p);

    if (t->kind != TOK_NUMBER && t->kind != TOK_STRING &&
        t->kind != TOK_IDENT) {
        parse_expected(p, "a value (a number, a \"string\" or a name)");
        return -1;
    }
    tok_next(p);
    v->at = t->at;
    v->is_num = t->kind == TOK_NUMBER;
    v->num = v->is_num ? strtod(t->text, NULL) : 0;
    v->text = parse_dup(p, t->text);
    return v->text ? 0 : -1;
}

/* "(" value { "," value } ")" into c->vals. */
static int parse_list(struct parser *p, struct cond *c)
{
    size_t cap = 0;

    if (tok_peek(p)->kind != TOK_LPAREN) {
        parse_expected(p, "\"(\" to start a list");
        return -1;
    }
    tok_next(p);
    for (;;) {
        if (c->nvals >= RULE_MAX_LIST) {
            parse_error_at(p, tok_peek(p)->at, "list longer than %d values",
                           RULE_MAX_LIST);
            return -1;
        }
        if (parse_grow(p, (void **)&c->vals, &cap, c->nvals, sizeof *c->vals) <
            0)
            return -1;
        if (parse_value(p, &c->vals[c->nvals]) < 0)
            return -1;
        c->nvals++;
        if (tok_peek(p)->kind == TOK_COMMA) {
            tok_next(p);
            continue;
        }
        if (tok_peek(p)->kind == TOK_RPAREN) {
            tok_next(p);
            return 0;
        }
        parse_expected(p, "\",\" or \")\" in the list");
        return -1;
    }
}

static int parse_one_value(struct parser *p, struct cond *c)
{
    c->vals = calloc(1, sizeof *c->vals);
    if (!c->vals) {
        p->oom = 1;
        return -1;
    }
    if (parse_value(p, &c->vals[0]) < 0)
        return -1;
    c->nvals = 1;
    return 0;
}

static int parse_regex(struct parser *p, struct cond *c)
{
    struct token *t = tok_peek(p);

    if (t->kind != TOK_REGEX) {
        parse_expected(p, "a regular expression /.../ after \"matches\"");
        return -1;
    }
    tok_next(p);
    c->re = parse_dup(p, t->text);
    memcpy(c->re_flags, t->flags, sizeof c->re_flags);
    c->re_at = t->at;
    return c->re ? 0 : -1;
}

static int parse_op(struct parser *p, enum cmp_op *op)
{
    static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};
    struct token *t = tok_peek(p);

    if (t->kind == TOK_OP) {
        for (size_t i = 0; i < NELEM(ops); i++)
            if (strcmp(t->text, ops[i]) == 0) {
                *op = (enum cmp_op)i;
                tok_next(p);
                return 0;
            }
    }
    return -1;
}

/* The unit a word after a bare number means ("days", "天" -> 'd'), or
 * 0: `wait 3 days` is written `wait 3d`. */
static char unit_word(const char *w)
{
    static const struct {
        char unit;
        const char *words[8];
    } units[] = {
        {'d', {"d", "day", "days", "天", "日", NULL}},
        {'h', {"h", "hour", "hours", "hr", "hrs", "小时", "时", NULL}},
        {'m', {"m", "min", "mins", "minute", "minutes", "分钟", "分", NULL}},
        {'s', {"s", "sec", "secs", "second", "seconds", "秒", NULL}},
        {'w', {"w", "week", "weeks", "周", "星期", NULL}},
    };

    for (size_t i = 0; i < NELEM(units); i++)
        for (size_t j = 0; units[i].words[j]; j++)
            if (strcmp(w, units[i].words[j]) == 0)
                return units[i].unit;
    return 0;
}

/* "36h" for "1.5d": the same span as a whole number of a smaller unit,
 * or "" when there is none. */
static void whole_duration(const char *text, char *buf, size_t n)
{
    static const struct {
        char unit;
        double secs;
    } units[] = {{'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60},
                 {'s', 1}};
    char *end;
    double v = strtod(text, &end), secs = -1;

    buf[0] = 0;
    for (size_t i = 0; i < NELEM(units); i++)
        if (*end == units[i].unit && end[1] == 0)
            secs = v * units[i].secs;
    for (size_t i = 0; secs > 0 && i < NELEM(units); i++) {
        double k = secs / units[i].secs;
        if (k >= 1 && k == (double)(long long)k) {
            snprintf(buf, n, "%lld%c", (long long)k, units[i].unit);
            return;
        }
    }
}

int parse_duration_tok(struct parser *p, const char *after, int64_t *ms)
{
    struct token *t = tok_peek(p), *next;
    char unit = 0, whole[32];

    if (t->kind == TOK_NUMBER) {
        next = p->i + 1 < p->n ? &p->t[p->i + 1] : NULL;
        if (next && next->kind == TOK_IDENT && next->at.line == t->at.line)
            unit = unit_word(next->text);
        if (unit) {
            parse_error_at(p, t->at,
                           "\"%s\" and \"%s\" in %s: write the number and "
                           "its unit together: \"%s%c\"",
                           t->text, next->text, after, t->text, unit);
            tok_next(p); /* the unit word too: one error */
        } else {
            parse_error_at(p, t->at,
                           "duration \"%s\" in %s needs a unit: s, m, h, d "
                           "or w (\"%sh\" for hours, \"%sd\" for days)",
                           t->text, after, t->text, t->text);
        }
        tok_next(p);
        return -1;
    }
    if (t->kind != TOK_DURATION) {
        char what[64];
        snprintf(what, sizeof what, "a duration (30s, 15m, 2h, 3d, 1w) in %s",
                 after);
        parse_expected(p, what);
        return -1;
    }
    tok_next(p);
    if (duration_parse(t->text, ms) < 0 || *ms <= 0) {
        whole_duration(t->text, whole, sizeof whole);
        if (strchr(t->text, '.') && whole[0])
            parse_error_at(p, t->at,
                           "duration \"%s\" in %s: a duration is a whole "
                           "number and a unit: write \"%s\"",
                           t->text, after, whole);
        else
            parse_error_at(p, t->at,
                           "invalid duration \"%s\" in %s: use s, m, h, d "
                           "or w",
                           t->text, after);
        return -1;
    }
    return 0;
}

/* --- conditions ---------------------------------------------------------- */

static struct cond *parse_or(struct parser *p);

static struct cond *new_cond(struct parser *p, enum cond_kind kind,
                             struct loc at)
{
    struct cond *c;

    if (++p->cond_parts > RULE_MAX_COND) {
        if (p->cond_parts == RULE_MAX_COND + 1)
            parse_error_at(p, at,
                           "condition with more than %d parts: split the "
                           "rule",
                           RULE_MAX_COND);
        return NULL;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        p->oom = 1;
        return NULL;
    }
    c->kind = kind;
    c->at = at;
    return c;
}

/* stage == S | stage != S | stage in (...) */
static int parse_stage_cond(struct parser *p, struct cond *c)
{
    if (tok_is(tok_peek(p), "in")) {
        tok_next(p);
        c->op = CMP_IN;
        return parse_list(p, c);
    }
    struct token *t = tok_peek(p);
    char buf[96];

    if (parse_op(p, &c->op) < 0 || (c->op != CMP_EQ && c->op != CMP_NE)) {
        parse_error_at(
            p, t->at,
            "expected \"==\", \"!=\" or \"in\" after \"stage\", found %s",
            tok_describe(t, buf, sizeof buf));
        return -1;
    }
    if (tok_peek(p)->kind != TOK_IDENT && tok_peek(p)->kind != TOK_STRING) {
        parse_expected(p, "a stage name");
        return -1;
    }
    return parse_one_value(p, c);
}

/* tag "t" | tag matches /re/ */
static int parse_tag_cond(struct parser *p, struct cond *c)
{
    struct token *t = tok_peek(p);

    if (tok_is(t, "matches")) {
        tok_next(p);
        c->kind = COND_TAG_MATCH;
        c->op = CMP_MATCH;
        return parse_regex(p, c);
    }
    if (t->kind != TOK_STRING) {
        parse_expected(p,
                       "a tag in quotes (tag \"intent:high\") or \"matches\"");
        return -1;
    }
    tok_next(p);
    c->name = parse_dup(p, t->text);
    return c->name ? 0 : -1;
}

static int parse_time_cond(struct parser *p, struct cond *c, const char *what)
{
    if (parse_op(p, &c->op) < 0) {
        char buf[80];
        snprintf(buf, sizeof buf, "a comparison (<, <=, >, >=) after \"%s\"",
                 what);
        parse_expected(p, buf);
        return -1;
    }
    return parse_duration_tok(p, what, &c->ms);
}

/* name OP value | name in (...) | name matches /re/ | name */
static int parse_attr_cond(struct parser *p, struct cond *c, const char *name)
{
    c->name = parse_dup(p, name);
    if (!c->name)
        return -1;
    if (tok_is(tok_peek(p), "in")) {
        tok_next(p);
        c->op = CMP_IN;
        return parse_list(p, c);
    }
    if (tok_is(tok_peek(p), "matches")) {
        tok_next(p);
        c->op = CMP_MATCH;
        return parse_regex(p, c);
    }
    if (parse_op(p, &c->op) == 0)
        return parse_one_value(p, c);
    c->kind = COND_PRESENT;
    return 0;
}

static struct cond *parse_primary(struct parser *p)
{
    struct token *t = tok_peek(p);
    struct cond *c;
    int rc;

    if (t->kind == TOK_LPAREN) {
        tok_next(p);
        c = parse_or(p);
        if (c && tok_peek(p)->kind != TOK_RPAREN) {
            parse_expected(p, "\")\" to close the \"(\"");
            cond_free(c);
            return NULL;
        }
        tok_next(p);
        return c;
    }
    if (t->kind != TOK_IDENT ||
        word_in_list(t->text, reserved_words, NELEM(reserved_words))) {
        parse_expected(p, "a condition");
        return NULL;
    }
    tok_next(p);
    c = new_cond(p, COND_ATTR, t->at);
    if (!c)
        return NULL;
    if (strcmp(t->text, "stage") == 0) {
        c->kind = COND_STAGE;
        rc = parse_stage_cond(p, c);
    } else if (strcmp(t->text, "tag") == 0) {
        c->kind = COND_TAG;
        rc = parse_tag_cond(p, c);
    } else if (strcmp(t->text, "followed_up") == 0) {
        c->kind = COND_FOLLOWED_UP;
        rc = 0;
    } else if (strcmp(t->text, "time_in_stage") == 0) {
        c->kind = COND_IN_STAGE;
        rc = parse_time_cond(p, c, t->text);
    } else if (strcmp(t->text, "time_since_touch") == 0) {
        c->kind = COND_SINCE_TOUCH;
        rc = parse_time_cond(p, c, t->text);
    } else {
        rc = parse_attr_cond(p, c, t->text);
    }
    if (rc < 0) {
        cond_free(c);
        return NULL;
    }
    return c;
}

static struct cond *parse_unary(struct parser *p)
{
    struct token *t = tok_peek(p);
    struct cond *c, *inner;

    if (!tok_is(t, "not"))
        return parse_primary(p);
    if (++p->depth > RULE_MAX_DEPTH) {
        parse_error_at(p, t->at, "condition nested deeper than %d levels",
                       RULE_MAX_DEPTH);
        return NULL;
    }
    tok_next(p);
    inner = parse_unary(p);
    p->depth--;
    if (!inner)
        return NULL;
    c = new_cond(p, COND_NOT, t->at);
    if (!c) {
        cond_free(inner);
        return NULL;
    }
    c->a = inner;
    return c;
}

/* A left-leaning chain of `word`: and over unary, or over and. */
static struct cond *parse_chain(struct parser *p, const char *word,
                                enum cond_kind kind,
                                struct cond *(*operand)(struct parser *))
{
    struct cond *left = operand(p);

    while (left && tok_is(tok_peek(p), word)) {
        struct token *t = tok_next(p);
        struct cond *right = operand(p), *c;
        if (!right || !(c = new_cond(p, kind, t->at))) {
            cond_free(left);
            cond_free(right);
            return NULL;
        }
        c->a = left;
        c->b = right;
        left = c;
    }
    return left;
}

static struct cond *parse_and(struct parser *p)
{
    return parse_chain(p, "and", COND_AND, parse_unary);
}

static struct cond *parse_or(struct parser *p)
{
    struct cond *c;

    if (++p->depth > RULE_MAX_DEPTH) {
        parse_error_at(p, tok_peek(p)->at,
                       "condition nested deeper than %d levels",
                       RULE_MAX_DEPTH);
        p->depth--;
        return NULL;
    }
    c = parse_chain(p, "or", COND_OR, parse_and);
    p->depth--;
    return c;
}

/* A condition starts on the line of its keyword: "stop if" alone on a
 * line is a mistake, not a condition on the next line. */
int parse_cond_missing(struct parser *p, const char *after)
{
    struct token *t = tok_peek(p);

    if (!t->bol && t->kind != TOK_EOF && t->kind != TOK_RBRACE)
        return 0;
    parse_error_at(p, t->kind == TOK_EOF || t->bol ? p->t[p->i - 1].at : t->at,
                   "expected a condition after %s", after);
    return 1;
}

struct cond *parse_cond(struct parser *p)
{
    return parse_or(p);
}
