/*
 * lexer.h - the tokens of a .rules file. The whole file is cut into an
 * array of tokens up front (the parser looks ahead freely), with every
 * token's line and column (in characters, UTF-8 aware) for messages.
 * Lexical errors (a bad byte, an unterminated string) go to the diag list
 * and lexing goes on.
 *
 * Ownership: rule_lex() fills a struct rule_tokens that owns the token
 * texts; rule_tokens_free() frees them.
 */
#ifndef NUDGE_RULES_LEXER_H
#define NUDGE_RULES_LEXER_H

#include <stddef.h>

#include "core/diag.h"

/* Size limits, so that no input can exhaust memory or time. */
#define RULE_MAX_FILE_BYTES (1024 * 1024)
#define RULE_MAX_TOKENS 200000
#define RULE_MAX_TOKEN_BYTES 4096

enum tok_kind {
    TOK_EOF,
    TOK_IDENT,    /* names and keywords: keywords are contextual */
    TOK_STRING,   /* "text": text holds the decoded value */
    TOK_REGEX,    /* /re/flags: text the pattern, flags in flags */
    TOK_NUMBER,   /* 600, -5, 3.5 */
    TOK_PERCENT,  /* 10%, 2.5%: text keeps the sign */
    TOK_DURATION, /* 2h, 30s, 250ms */
    TOK_TIME,     /* 09:00 */
    TOK_DATE,     /* 2026-09-01 */
    TOK_OP,       /* == != < <= > >= */
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_LBRACE,
    TOK_RBRACE,
    TOK_COMMA,
};

struct loc {
    int line, col;
};

struct token {
    enum tok_kind kind;
    char *text;    /* NUL-terminated, owned */
    char flags[8]; /* regex flags ("i") */
    struct loc at;
    int bol; /* first token on its line */
};

struct rule_tokens {
    struct token *v;
    size_t n, cap;
};

/* Cuts src (len bytes, the contents of file) into tokens; always ends
 * with TOK_EOF. Errors go to d. Returns 0, or -1 on allocation failure or
 * when a size limit was hit (then an error says so). */
int rule_lex(const char *file, const char *src, size_t len,
             struct rule_tokens *out, struct diag *d);
void rule_tokens_free(struct rule_tokens *t);

/* A token for messages: "\"send\"", "end of file", "\"{\"". Returns buf. */
const char *tok_describe(const struct token *t, char *buf, size_t n);

#endif
