/*
 * parser.c - recursive descent over the tokens of lexer.c (see parser.h).
 *
 * Keywords are contextual: "score", "stage" or "send" are names wherever a
 * name is expected, so an attribute may be called anything. An error in a
 * statement skips to the next line that starts with a keyword the current
 * context knows, or to "}", so one mistake yields one message.
 * Conditions and values are parse_cond.c's.
 */
#include "rules/parser.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/hint.h"
#include "rules/holdout.h"
#include "rules/parser_int.h"

static const char *const step_words[] = {"wait",   "send",   "stop",    "tag",
                                         "assign", "notify", "escalate"};
static const char *const header_words[] = {"on",   "every", "at",
                                           "when", "limit", "holdout"};
static const char *const statement_words[] = {
    "wait",     "send", "stop",  "tag", "assign", "notify",
    "escalate", "on",   "every", "at",  "when",   "limit", "holdout"};
static const char *const event_words[] = {"created", "stage",    "tag",
                                          "untag",   "assigned", "followup",
                                          "reply",   "optout",   "event"};
static const char *const day_words[] = {"sunday",    "monday",   "tuesday",
                                        "wednesday", "thursday", "friday",
                                        "saturday",  "day"};

/* --- tokens -------------------------------------------------------------- */

struct token *tok_peek(struct parser *p)
{
    return &p->t[p->i];
}

struct token *tok_next(struct parser *p)
{
    struct token *t = &p->t[p->i];
    if (t->kind != TOK_EOF)
        p->i++;
    return t;
}

int tok_is(const struct token *t, const char *w)
{
    return t->kind == TOK_IDENT && strcmp(t->text, w) == 0;
}

int word_in_list(const char *w, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(w, list[i]) == 0)
            return 1;
    return 0;
}

void parse_error_at(struct parser *p, struct loc at, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(p->d, p->file, at.line, at.col, "%s", msg);
}

/* "expected WHAT, found TOKEN" at the current token. */
void parse_expected(struct parser *p, const char *what)
{
    char buf[96];
    struct token *t = tok_peek(p);
    parse_error_at(p, t->at, "expected %s, found %s", what,
             tok_describe(t, buf, sizeof buf));
}

char *parse_dup(struct parser *p, const char *s)
{
    char *c = strdup(s);
    if (!c)
        p->oom = 1;
    return c;
}

/* Grows *v (of element size sz) to hold n + 1 elements. */
int parse_grow(struct parser *p, void **v, size_t *cap, size_t n, size_t sz)
{
    void *nv;
    size_t ncap;

    if (n < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 4;
    nv = realloc(*v, ncap * sz);
    if (!nv) {
        p->oom = 1;
        return -1;
    }
    memset((char *)nv + *cap * sz, 0, (ncap - *cap) * sz);
    *v = nv;
    *cap = ncap;
    return 0;
}

/* Skips to the next token that starts a line and is one of words, or is
 * "}", "rule", "stages" or the end. */
void parse_recover(struct parser *p, const char *const *words, size_t n)
{
    tok_next(p);
    for (;;) {
        struct token *t = tok_peek(p);
        if (t->kind == TOK_EOF || t->kind == TOK_RBRACE)
            return;
        if (t->bol && t->kind == TOK_IDENT &&
            (word_in_list(t->text, words, n) || tok_is(t, "rule") ||
             tok_is(t, "stages")))
            return;
        tok_next(p);
    }
}

/* --- triggers ------------------------------------------------------------ */

static int parse_time_of_day(struct parser *p, struct trigger *tr)
{
    struct token *t = tok_peek(p);

    if (t->kind != TOK_TIME) {
        parse_expected(p, "a time of day (09:00)");
        return -1;
    }
    tok_next(p);
    if (!tr->when_at.line)
        tr->when_at = t->at;
    if (sscanf(t->text, "%d:%d", &tr->hour, &tr->minute) != 2)
        return -1;
    return 0;
}

/* on created | on stage S | on tag "t" | ... | on event NAME */
static int parse_on(struct parser *p, struct trigger *tr)
{
    struct token *t = tok_peek(p);
    char msg[160];

    if (t->kind != TOK_IDENT ||
        !word_in_list(t->text, event_words, NELEM(event_words))) {
        if (t->kind == TOK_IDENT) {
            snprintf(msg, sizeof msg, "unknown event \"%s\" after \"on\"",
                     t->text);
            hint_append(msg, sizeof msg, t->text, event_words,
                        NELEM(event_words));
            parse_error_at(p, t->at, "%s (a custom event is \"on event NAME\")", msg);
        } else {
            parse_expected(p, "an event after \"on\" (created, stage S, tag \"t\", "
                        "assigned, ...)");
        }
        return -1;
    }
    tok_next(p);
    tr->kind = TRIG_EVENT;
    tr->ev = strcmp(t->text, "event") == 0 ? EV_CUSTOM : event_kind_of(t->text);
    if (tr->ev == EV_STAGE || tr->ev == EV_CUSTOM) {
        struct token *a = tok_peek(p);
        if (a->kind != TOK_IDENT || a->at.line != t->at.line) {
            /* on the next line is the next statement, not the name:
             * say so on this line */
            if (a->at.line != t->at.line) {
                parse_error_at(p, t->at,
                               "\"on %s\" needs %s on the same line (%s)",
                               t->text,
                               tr->ev == EV_STAGE ? "a stage name"
                                                  : "an event name",
                               tr->ev == EV_STAGE ? "on stage consulting"
                                                  : "on event visited");
                return -1;
            }
            parse_expected(p, tr->ev == EV_STAGE ? "a stage name after \"on stage\""
                                           : "an event name after \"on "
                                             "event\"");
            return -1;
        }
        tok_next(p);
        tr->arg_at = a->at;
        tr->arg = parse_dup(p, a->text);
        return tr->arg ? 0 : -1;
    }
    if (tr->ev == EV_TAG || tr->ev == EV_UNTAG) {
        struct token *a = tok_peek(p);
        if (a->kind != TOK_STRING) {
            parse_expected(p, "a tag in quotes (on tag \"intent:high\")");
            return -1;
        }
        tok_next(p);
        tr->arg_at = a->at;
        tr->arg = parse_dup(p, a->text);
        return tr->arg ? 0 : -1;
    }
    return 0;
}

/* every DAY HH:MM | every day HH:MM */
static int parse_every(struct parser *p, struct trigger *tr)
{
    struct token *t = tok_peek(p);
    char msg[160];

    tr->kind = TRIG_EVERY;
    if (t->kind != TOK_IDENT) {
        parse_expected(p, "a day after \"every\" (monday ... sunday, or day)");
        return -1;
    }
    tr->wday = -2;
    for (size_t i = 0; i < NELEM(day_words); i++)
        if (strcmp(t->text, day_words[i]) == 0)
            tr->wday = i == 7 ? -1 : (int)i;
    if (tr->wday == -2) {
        snprintf(msg, sizeof msg, "unknown day \"%s\" after \"every\"",
                 t->text);
        hint_append(msg, sizeof msg, t->text, day_words, NELEM(day_words));
        parse_error_at(p, t->at, "%s", msg);
        return -1;
    }
    tok_next(p);
    return parse_time_of_day(p, tr);
}

/* at YYYY-MM-DD HH:MM */
static int parse_at(struct parser *p, struct trigger *tr)
{
    struct token *t = tok_peek(p);

    tr->kind = TRIG_AT;
    if (t->kind != TOK_DATE) {
        parse_expected(p, "a date after \"at\" (2026-09-01 09:00)");
        return -1;
    }
    tok_next(p);
    tr->when_at = t->at;
    if (sscanf(t->text, "%d-%d-%d", &tr->year, &tr->mon, &tr->mday) != 3)
        return -1;
    return parse_time_of_day(p, tr);
}

static int parse_trigger(struct parser *p, struct rule *r, struct token *kw)
{
    if (r->trig.kind != TRIG_NONE) {
        parse_error_at(p, kw->at,
                 "rule \"%s\" already has a trigger (line %d): one trigger "
                 "per rule",
                 r->name, r->trig.at.line);
        return -1;
    }
    r->trig.at = kw->at;
    if (strcmp(kw->text, "on") == 0)
        return parse_on(p, &r->trig);
    if (strcmp(kw->text, "every") == 0)
        return parse_every(p, &r->trig);
    return parse_at(p, &r->trig);
}

/* limit N per DURATION */
static int parse_limit(struct parser *p, struct rule *r, struct token *kw)
{
    struct token *t = tok_peek(p);
    char *end;

    r->limit_at = kw->at;
    if (t->kind != TOK_NUMBER) {
        parse_expected(p, "a count after \"limit\" (limit 1 per 7d)");
        return -1;
    }
    tok_next(p);
    errno = 0;
    r->limit_n = strtol(t->text, &end, 10);
    if (*end || errno || r->limit_n < 1 || r->limit_n > 1000000) {
        parse_error_at(p, t->at,
                 "invalid count \"%s\" in limit: a whole number from 1",
                 t->text);
        return -1;
    }
    if (!tok_is(tok_peek(p), "per")) {
        parse_error_at(p, kw->at,
                 "limit needs a window: \"limit %ld per DURATION\" (limit %ld "
                 "per 7d)",
                 r->limit_n, r->limit_n);
        return -1;
    }
    tok_next(p);
    return parse_duration_tok(p, "limit", &r->limit_ms);
}

/* holdout N% (rules/holdout.h) */
static int parse_holdout(struct parser *p, struct rule *r, struct token *kw)
{
    struct token *t = tok_peek(p);
    char why[160];

    if (r->holdout_at.line) {
        parse_error_at(p, kw->at,
                       "rule \"%s\" already has a holdout (line %d): one "
                       "holdout per rule",
                       r->name, r->holdout_at.line);
        return -1;
    }
    r->holdout_at = kw->at;
    if (t->kind == TOK_NUMBER) {
        parse_error_at(p, t->at,
                       "holdout %s: a share needs its percent sign "
                       "(holdout %s%%)",
                       t->text, t->text);
        return -1;
    }
    if (t->kind != TOK_PERCENT) {
        parse_expected(p, "a share after \"holdout\" (holdout 10%)");
        return -1;
    }
    tok_next(p);
    if (holdout_share_parse(t->text, &r->holdout, why, sizeof why) < 0) {
        parse_error_at(p, t->at, "invalid share \"%s\" in holdout: %s",
                       t->text, why);
        return -1;
    }
    return 0;
}

/* --- rules and files ----------------------------------------------------- */

/* The keyword a word from another language of rules means: too far
 * from it to be a typo ("upon" is not near "on"), too common to leave
 * without a hint. NULL for none. */
static const char *statement_alias(const char *w)
{
    static const char *const aliases[][2] = {
        {"upon", "on"},   {"whenever", "on"}, {"trigger", "on"},
        {"if", "when"},   {"only", "when"},   {"delay", "wait"},
        {"sleep", "wait"}, {"after", "wait"},  {"message", "send"},
    };

    for (size_t i = 0; i < NELEM(aliases); i++)
        if (strcmp(w, aliases[i][0]) == 0)
            return aliases[i][1];
    return NULL;
}

static void unknown_statement(struct parser *p, struct token *t)
{
    char msg[200], buf[96];
    const char *alias;

    if (t->kind != TOK_IDENT) {
        snprintf(msg, sizeof msg, "expected a step or \"}\", found %s",
                 tok_describe(t, buf, sizeof buf));
    } else {
        snprintf(msg, sizeof msg, "unknown step \"%.40s\"", t->text);
        if ((alias = statement_alias(t->text)))
            snprintf(msg + strlen(msg), sizeof msg - strlen(msg),
                     ": did you mean \"%s\"?", alias);
        else
            hint_append(msg, sizeof msg, t->text, statement_words,
                        NELEM(statement_words));
    }
    parse_error_at(p, t->at, "%s", msg);
}

/* One statement of a rule body. Returns -1 on an error (then the caller
 * recovers). */
static int parse_statement(struct parser *p, struct rule *r, size_t *cap)
{
    struct token *t = tok_peek(p);

    p->cond_end = 0;
    if (t->kind == TOK_IDENT &&
        word_in_list(t->text, header_words, NELEM(header_words))) {
        tok_next(p);
        if (r->nsteps > 0) {
            parse_error_at(p, t->at, "\"%s\" must come before the first step",
                     t->text);
            return -1;
        }
        if (strcmp(t->text, "when") == 0) {
            if (r->when) {
                parse_error_at(p, t->at,
                         "rule \"%s\" has two \"when\": join them with "
                         "\"and\"",
                         r->name);
                return -1;
            }
            if (parse_cond_missing(p, "\"when\""))
                return -1;
            p->cond_parts = 0;
            r->when = parse_cond(p);
            p->cond_end = 1;
            return r->when ? 0 : -1;
        }
        if (strcmp(t->text, "limit") == 0)
            return parse_limit(p, r, t);
        if (strcmp(t->text, "holdout") == 0)
            return parse_holdout(p, r, t);
        return parse_trigger(p, r, t);
    }
    if (t->kind == TOK_IDENT &&
        word_in_list(t->text, step_words, NELEM(step_words))) {
        tok_next(p);
        return parse_step(p, r, cap, t);
    }
    unknown_statement(p, t);
    return -1;
}

/* One statement a line: whatever follows on the same line is a mistake,
 * most often a missing "and" in a condition. */
static int statement_end(struct parser *p)
{
    struct token *t = tok_peek(p);
    char buf[96];

    if (t->bol || t->kind == TOK_RBRACE || t->kind == TOK_EOF)
        return 0;
    if (p->cond_end)
        parse_error_at(p, t->at,
                 "expected \"and\", \"or\" or the end of the line after the "
                 "condition, found %s",
                 tok_describe(t, buf, sizeof buf));
    else
        parse_error_at(p, t->at, "unexpected %s: one step or setting a line",
                 tok_describe(t, buf, sizeof buf));
    return -1;
}

static void parse_rule_body(struct parser *p, struct rule *r)
{
    size_t cap = 0;

    for (;;) {
        struct token *t = tok_peek(p);
        if (t->kind == TOK_RBRACE) {
            tok_next(p);
            return;
        }
        if (t->kind == TOK_EOF ||
            (t->bol && (tok_is(t, "rule") || tok_is(t, "stages")))) {
            parse_error_at(p, r->at, "rule \"%s\" is missing its closing \"}\"",
                     r->name);
            r->broken = 1;
            return;
        }
        size_t start = p->i;
        if (parse_statement(p, r, &cap) < 0 || statement_end(p) < 0) {
            r->broken = 1;
            if (p->oom)
                return;
            p->i--; /* parse_recover() skips the token it starts on */
            parse_recover(p, statement_words, NELEM(statement_words));
            if (p->i <= start) /* always make progress */
                tok_next(p);
        }
    }
}

static void parse_rule(struct parser *p, struct rule_file *f, size_t *cap)
{
    struct token *name = tok_peek(p);
    struct rule *r;

    if (name->kind != TOK_IDENT) {
        parse_expected(p, "a rule name after \"rule\"");
        parse_recover(p, NULL, 0);
        return;
    }
    tok_next(p);
    if (tok_peek(p)->kind != TOK_LBRACE) {
        parse_expected(p, "\"{\" after the rule name");
        parse_recover(p, NULL, 0);
        if (tok_peek(p)->kind == TOK_RBRACE)
            tok_next(p);
        return;
    }
    tok_next(p);
    if (parse_grow(p, (void **)&f->rules, cap, f->nrules, sizeof *f->rules) < 0)
        return;
    r = &f->rules[f->nrules++];
    memset(r, 0, sizeof *r);
    r->at = name->at;
    r->file = f->path;
    r->name = parse_dup(p, name->text);
    if (!r->name)
        return;
    parse_rule_body(p, r);
}

/* Whether the stages line goes on at the current token. */
static int stage_word(struct parser *p)
{
    struct token *t = tok_peek(p);
    return t->kind == TOK_IDENT &&
           !(t->bol && (tok_is(t, "rule") || tok_is(t, "stages")));
}

static void parse_stages(struct parser *p, struct rule_file *f,
                         struct token *kw)
{
    size_t cap = 0;

    if (f->stages_at.line) {
        parse_error_at(p, kw->at, "a second \"stages\" line (the first is line %d)",
                 f->stages_at.line);
        while (stage_word(p))
            tok_next(p);
        return;
    }
    f->stages_at = kw->at;
    while (stage_word(p)) {
        struct token *t = tok_next(p);
        if (f->nstages >= RULE_MAX_STAGES) {
            parse_error_at(p, t->at, "more than %d stages", RULE_MAX_STAGES);
            while (stage_word(p))
                tok_next(p);
            return;
        }
        if (parse_grow(p, (void **)&f->stages, &cap, f->nstages, sizeof *f->stages) <
            0)
            return;
        f->stages[f->nstages].at = t->at;
        f->stages[f->nstages].name = parse_dup(p, t->text);
        if (!f->stages[f->nstages].name)
            return;
        f->nstages++;
    }
    if (f->nstages == 0)
        parse_expected(p, "stage names after \"stages\"");
}

static void parse_top(struct parser *p, struct rule_file *f)
{
    size_t rcap = 0;
    char msg[200], buf[96];
    static const char *const top_words[] = {"rule", "stages"};

    while (tok_peek(p)->kind != TOK_EOF && !p->oom) {
        struct token *t = tok_next(p);
        if (tok_is(t, "rule")) {
            parse_rule(p, f, &rcap);
        } else if (tok_is(t, "stages")) {
            parse_stages(p, f, t);
        } else {
            if (t->kind == TOK_IDENT) {
                snprintf(msg, sizeof msg,
                         "expected \"rule\" or \"stages\", found \"%.40s\"",
                         t->text);
                hint_append(msg, sizeof msg, t->text, top_words, 2);
            } else {
                snprintf(msg, sizeof msg,
                         "expected \"rule\" or \"stages\", found %s",
                         tok_describe(t, buf, sizeof buf));
            }
            parse_error_at(p, t->at, "%s", msg);
            p->i--;
            parse_recover(p, NULL, 0);
            if (tok_peek(p)->kind == TOK_RBRACE)
                tok_next(p);
        }
    }
}

struct rule_file *rule_parse(const char *path, const char *src, size_t len,
                             struct diag *d)
{
    struct rule_tokens toks;
    struct rule_file *f;
    struct parser p = {.file = path, .d = d};

    f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return NULL;
    }
    if (rule_lex(path, src, len, &toks, d) < 0) {
        rule_tokens_free(&toks);
        return f; /* the error is in d */
    }
    p.t = toks.v;
    p.n = toks.n;
    parse_top(&p, f);
    rule_tokens_free(&toks);
    if (p.oom) {
        rule_file_free(f);
        return NULL;
    }
    return f;
}

struct rule_file *rule_parse_path(const char *path, struct diag *d)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    struct rule_file *f = NULL;

    if (!fp) {
        diag_error(d, path, 0, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    do {
        if (len + 65536 > cap) {
            char *nb;
            cap = cap ? cap * 2 : 65536;
            nb = realloc(buf, cap);
            if (!nb)
                goto done;
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, fp);
        len += got;
    } while (got > 0 && len <= RULE_MAX_FILE_BYTES);
    if (ferror(fp)) {
        diag_error(d, path, 0, 0, "cannot read: %s", strerror(errno));
        goto done;
    }
    f = rule_parse(path, buf ? buf : "", len, d);
done:
    free(buf);
    fclose(fp);
    return f;
}
