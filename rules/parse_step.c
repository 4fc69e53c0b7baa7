/*
 * parse_step.c - the steps of a rule (wait, send, stop, tag, assign,
 * notify, escalate), each from its keyword to the end of its statement.
 * parser.c reads the rule around them; conditions are parse_cond.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/hint.h"
#include "rules/holdout.h"
#include "rules/parser_int.h"
#include "rules/variant.h"

/* CHANNEL TEMPLATE */
static int parse_channel_template(struct parser *p, struct step *s,
                                  const char *after)
{
    struct token *c = tok_peek(p), *t;
    char what[96];

    if (c->kind != TOK_IDENT) {
        snprintf(what, sizeof what, "a channel name after \"%s\"", after);
        parse_expected(p, what);
        return -1;
    }
    tok_next(p);
    t = tok_peek(p);
    if (t->kind != TOK_IDENT) {
        snprintf(what, sizeof what, "a template name after \"%s %s\"", after,
                 c->text);
        parse_expected(p, what);
        return -1;
    }
    tok_next(p);
    s->channel = parse_dup(p, c->text);
    s->chan_at = c->at;
    s->tmpl = parse_dup(p, t->text);
    s->tmpl_at = t->at;
    return s->channel && s->tmpl ? 0 : -1;
}

/* `variant` starts a list of weighted templates when a template name
 * follows it on the line (else it is a template called "variant"). */
static int at_variant_list(struct parser *p)
{
    const struct token *t = tok_peek(p), *next;

    if (!tok_is(t, "variant") || t->bol || p->i + 1 >= p->n)
        return 0;
    next = &p->t[p->i + 1];
    return !next->bol && next->kind == TOK_IDENT;
}

/* TEMPLATE WEIGHT% of a variant list, appended to s->variants. */
static int parse_variant(struct parser *p, struct step *s, size_t *cap)
{
    struct token *t = tok_peek(p), *w;
    struct variant *v;
    int weight;
    char why[160];

    if (t->kind != TOK_IDENT) {
        parse_expected(p, "a template name in the variant list (variant "
                          "invite_a 50%, invite_b 50%)");
        return -1;
    }
    tok_next(p);
    w = tok_peek(p);
    if (w->kind != TOK_PERCENT || w->bol) {
        parse_error_at(p, w->bol ? t->at : w->at,
                       "variant %s needs its weight (%s 50%%)", t->text,
                       t->text);
        return -1;
    }
    tok_next(p);
    if (holdout_share_parse(w->text, &weight, why, sizeof why) < 0) {
        parse_error_at(p, w->at,
                       "invalid weight \"%s\" for variant %s: a weight is "
                       "more than 0%% and less than 100%%, with at most one "
                       "decimal (%s 50%%)",
                       w->text, t->text, t->text);
        return -1;
    }
    for (size_t i = 0; i < s->nvariants; i++)
        if (strcmp(s->variants[i].tmpl, t->text) == 0) {
            parse_error_at(p, t->at,
                           "variant %s is listed twice (line %d): one "
                           "weight per template",
                           t->text, s->variants[i].at.line);
            return -1;
        }
    if (parse_grow(p, (void **)&s->variants, cap, s->nvariants,
                   sizeof *s->variants) < 0)
        return -1;
    v = &s->variants[s->nvariants];
    if (!(v->tmpl = parse_dup(p, t->text)))
        return -1;
    v->weight = weight;
    v->at = t->at;
    s->nvariants++;
    return 0;
}

/* variant A 50%, B 30%, C 20% (rules/variant.h): two or more templates
 * whose weights add up to 100%. s->tmpl is the first one's. */
static int parse_variants(struct parser *p, struct step *s)
{
    struct token *kw = tok_next(p);
    size_t cap = 0;
    int sum = 0;
    char total[16];

    do {
        if (parse_variant(p, s, &cap) < 0)
            return -1;
    } while (tok_peek(p)->kind == TOK_COMMA && tok_next(p));
    for (size_t i = 0; i < s->nvariants; i++)
        sum += s->variants[i].weight;
    if (s->nvariants < 2) {
        parse_error_at(p, kw->at,
                       "a variant send names two templates or more "
                       "(variant %s 50%%, other 50%%); for one, write "
                       "\"send %s %s\"",
                       s->variants[0].tmpl, s->channel, s->variants[0].tmpl);
        return -1;
    }
    if (sum != VARIANT_SCALE) {
        parse_error_at(p, kw->at,
                       "the variants' weights add up to %s, not 100%%",
                       holdout_share_format(sum, total, sizeof total));
        return -1;
    }
    s->tmpl = parse_dup(p, s->variants[0].tmpl);
    s->tmpl_at = s->variants[0].at;
    return s->tmpl ? 0 : -1;
}

/* send CHANNEL TEMPLATE, or send CHANNEL variant A 50%, B 50% */
static int parse_send(struct parser *p, struct step *s)
{
    struct token *c = tok_peek(p);

    if (c->kind != TOK_IDENT) {
        parse_expected(p, "a channel name after \"send\"");
        return -1;
    }
    tok_next(p);
    if (!at_variant_list(p)) {
        p->i--; /* back to the channel: the usual CHANNEL TEMPLATE */
        return parse_channel_template(p, s, "send");
    }
    if (!(s->channel = parse_dup(p, c->text)))
        return -1;
    s->chan_at = c->at;
    return parse_variants(p, s);
}

/* Expects the word w next. */
static int expect_word(struct parser *p, const char *w, const char *ctx)
{
    char what[96];

    if (tok_is(tok_peek(p), w)) {
        tok_next(p);
        return 0;
    }
    snprintf(what, sizeof what, "\"%s\" (%s)", w, ctx);
    parse_expected(p, what);
    return -1;
}

static int parse_stop(struct parser *p, struct step *s)
{
    struct token *t = tok_peek(p);

    if (!tok_is(t, "if") && !tok_is(t, "unless"))
        return 0; /* unconditional */
    tok_next(p);
    s->unless = strcmp(t->text, "unless") == 0;
    if (parse_cond_missing(p, s->unless ? "\"stop unless\"" : "\"stop if\""))
        return -1;
    p->cond_parts = 0;
    s->cond = parse_cond(p);
    p->cond_end = 1;
    return s->cond ? 0 : -1;
}

static int parse_tag_step(struct parser *p, struct step *s)
{
    struct token *t = tok_peek(p), *v;

    if (!tok_is(t, "add") && !tok_is(t, "remove")) {
        parse_expected(p, "\"add\" or \"remove\" after \"tag\"");
        return -1;
    }
    tok_next(p);
    s->kind = tok_is(t, "add") ? STEP_TAG_ADD : STEP_TAG_REMOVE;
    v = tok_peek(p);
    if (v->kind != TOK_STRING) {
        parse_expected(p, "a tag in quotes");
        return -1;
    }
    tok_next(p);
    s->arg = parse_dup(p, v->text);
    return s->arg ? 0 : -1;
}

static int parse_escalate(struct parser *p, struct step *s)
{
    struct token *t;

    if (expect_word(p, "level", "escalate level N via CHANNEL TEMPLATE") < 0)
        return -1;
    t = tok_peek(p);
    if (t->kind != TOK_NUMBER) {
        parse_expected(p, "a level number after \"escalate level\"");
        return -1;
    }
    tok_next(p);
    s->level = strtol(t->text, NULL, 10);
    s->level_at = t->at;
    if (expect_word(p, "via", "escalate level N via CHANNEL TEMPLATE") < 0)
        return -1;
    return parse_channel_template(p, s, "via");
}

/* The optional `working` after a wait's duration: the wait then counts
 * the school's working time (core/worktime.h). `Nd working` is N working
 * days (each as long as the working hours); weeks are refused, since a
 * working week depends on [worktime] days. */
static int parse_working(struct parser *p, struct step *s,
                         const struct token *dur)
{
    static const char *const words[] = {"working"};
    struct token *t = tok_peek(p);
    char msg[240];
    size_t len = strlen(dur->text);

    if (t->bol || t->kind != TOK_IDENT)
        return 0;
    if (!tok_is(t, "working")) {
        snprintf(msg, sizeof msg,
                 "expected \"working\" or the end of the line after "
                 "\"wait %s\", found \"%.40s\"",
                 dur->text, t->text);
        hint_append(msg, sizeof msg, t->text, words, NELEM(words));
        parse_error_at(p, t->at, "%s", msg);
        return -1;
    }
    tok_next(p);
    s->working = 1;
    if (dur->text[len - 1] == 'w') {
        parse_error_at(p, dur->at,
                 "\"%s working\": a working week depends on [worktime] "
                 "days; count working days instead (\"5d working\")",
                 dur->text);
        return -1;
    }
    if (dur->text[len - 1] == 'd') {
        s->work_days = (long)(s->ms / 86400000);
        s->ms = 0;
    }
    return 0;
}

static int parse_step_body(struct parser *p, struct step *s, struct token *kw)
{
    const char *w = kw->text;
    struct token *t;

    if (strcmp(w, "wait") == 0) {
        struct token *dur = tok_peek(p);
        s->kind = STEP_WAIT;
        if (parse_duration_tok(p, "wait", &s->ms) < 0)
            return -1;
        return parse_working(p, s, dur);
    }
    if (strcmp(w, "send") == 0) {
        s->kind = STEP_SEND;
        return parse_send(p, s);
    }
    if (strcmp(w, "stop") == 0) {
        s->kind = STEP_STOP;
        return parse_stop(p, s);
    }
    if (strcmp(w, "tag") == 0)
        return parse_tag_step(p, s);
    if (strcmp(w, "assign") == 0) {
        s->kind = STEP_ASSIGN;
        if (expect_word(p, "team", "assign team NAME") < 0)
            return -1;
        t = tok_peek(p);
        if (t->kind != TOK_IDENT) {
            parse_expected(p, "a team name after \"assign team\"");
            return -1;
        }
        tok_next(p);
        if (!(s->arg = parse_dup(p, t->text)))
            return -1;
        t = tok_peek(p);
        if (tok_is(t, "by")) {
            tok_next(p);
            if (expect_word(p, "load", "assign team NAME by load") < 0)
                return -1;
            s->by_load = 1;
        }
        return 0;
    }
    if (strcmp(w, "notify") == 0) {
        s->kind = STEP_NOTIFY;
        if (expect_word(p, "owner", "notify owner via CHANNEL TEMPLATE") < 0 ||
            expect_word(p, "via", "notify owner via CHANNEL TEMPLATE") < 0)
            return -1;
        return parse_channel_template(p, s, "via");
    }
    s->kind = STEP_ESCALATE;
    return parse_escalate(p, s);
}

int parse_step(struct parser *p, struct rule *r, size_t *cap,
               struct token *kw)
{
    struct step *s;

    if (r->nsteps >= RULE_MAX_STEPS) {
        parse_error_at(p, kw->at, "rule \"%s\" has more than %d steps", r->name,
                 RULE_MAX_STEPS);
        return -1;
    }
    if (parse_grow(p, (void **)&r->steps, cap, r->nsteps, sizeof *r->steps) < 0)
        return -1;
    s = &r->steps[r->nsteps];
    memset(s, 0, sizeof *s);
    s->at = kw->at;
    if (parse_step_body(p, s, kw) < 0) {
        step_clear(s);
        memset(s, 0, sizeof *s);
        return -1;
    }
    r->nsteps++;
    return 0;
}
