/*
 * parser_int.h - what the rule parser's files share: the parser's state,
 * its token helpers (parser.c), the conditions and values it reads in
 * `when`, `stop if` and friends (parse_cond.c) and the steps
 * (parse_step.c). Nothing outside them
 * includes it.
 */
#ifndef NUDGE_RULES_PARSER_INT_H
#define NUDGE_RULES_PARSER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "rules/ast.h"
#include "rules/lexer.h"

struct parser {
    const char *file;
    struct token *t;
    size_t i, n;
    struct diag *d;
    int depth;
    int oom;
    int cond_end;   /* the last statement ended with a condition */
    int cond_parts; /* of the condition being parsed */
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* --- tokens (parser.c) -----------------------------------------------------
 */
struct token *tok_peek(struct parser *p);
/* The current token, and moves on (never past the end). */
struct token *tok_next(struct parser *p);
/* t is the identifier w. */
int tok_is(const struct token *t, const char *w);
int word_in_list(const char *w, const char *const *list, size_t n);
/* An error at `at`, as file:line:col: message. */
void parse_error_at(struct parser *p, struct loc at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "expected WHAT, found TOKEN" at the current token. */
void parse_expected(struct parser *p, const char *what);
/* strdup that notes running out of memory in p. */
char *parse_dup(struct parser *p, const char *s);
/* Grows *v (of element size sz) to hold n + 1 elements. 0 or -1. */
int parse_grow(struct parser *p, void **v, size_t *cap, size_t n, size_t sz);
/* Skips to the next token that starts a line and is one of words, or is
 * "}", "rule", "stages" or the end. */
void parse_recover(struct parser *p, const char *const *words, size_t n);

/* --- conditions and values (parse_cond.c) ----------------------------------
 */
/* A condition: `or` of `and` of `not` of primaries. NULL on an error
 * (reported). */
struct cond *parse_cond(struct parser *p);
/* Reports a missing condition after `after`; -1. */
int parse_cond_missing(struct parser *p, const char *after);
/* A duration token (30s, 15m, 2h, 3d, 1w) in ms; after names where, for
 * messages. 0 or -1 (reported). */
int parse_duration_tok(struct parser *p, const char *after, int64_t *ms);

/* --- steps (parse_step.c) ------------------------------------------------ */
/* The step kw begins, appended to r's steps (cap: their room). 0, or -1
 * after an error (reported; the step is not added). */
int parse_step(struct parser *p, struct rule *r, size_t *cap,
               struct token *kw);

#endif
