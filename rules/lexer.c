/*
 * lexer.c - cutting a .rules file into tokens (see lexer.h).
 *
 * Columns count characters, not bytes, so that a message points at the
 * right place in a line with Chinese text. Invalid UTF-8 is an error at
 * the byte that breaks it.
 */
#include "rules/lexer.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lexer {
    const char *file;
    const char *s, *end;
    struct loc at;
    int bol;
    struct rule_tokens *out;
    struct diag *d;
    int failed; /* a limit or allocation failure: stop */
};

/* The length of the UTF-8 sequence at p (1 to 4), or 0 when invalid. */
static int utf8_len(const unsigned char *p, const unsigned char *end)
{
    int n;
    unsigned c = p[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (end - p < n)
        return 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3 && c == 0xe0 && p[1] < 0xa0)
        return 0; /* overlong */
    if (n == 3 && c == 0xed && p[1] >= 0xa0)
        return 0; /* surrogate */
    if (n == 4 && c == 0xf0 && p[1] < 0x90)
        return 0;
    if (n == 4 && c == 0xf4 && p[1] >= 0x90)
        return 0;
    return n;
}

/* Advances over one character, keeping line and column. Invalid bytes
 * are reported once each and skipped. */
static void advance(struct lexer *lx)
{
    int n;

    if (lx->s >= lx->end)
        return;
    if (*lx->s == '\n') {
        lx->s++;
        lx->at.line++;
        lx->at.col = 1;
        lx->bol = 1;
        return;
    }
    n = utf8_len((const unsigned char *)lx->s, (const unsigned char *)lx->end);
    if (n == 0) {
        diag_error(lx->d, lx->file, lx->at.line, lx->at.col,
                   "invalid UTF-8 byte 0x%02x", (unsigned char)*lx->s);
        n = 1;
    }
    lx->s += n;
    lx->at.col++;
}

static int push(struct lexer *lx, enum tok_kind kind, struct loc at,
                const char *text, size_t len)
{
    struct rule_tokens *o = lx->out;
    struct token *t;

    if (kind != TOK_EOF && o->n >= RULE_MAX_TOKENS) {
        diag_error(lx->d, lx->file, at.line, at.col,
                   "file too long: more than %d tokens", RULE_MAX_TOKENS);
        lx->failed = 1;
        return -1;
    }
    if (o->n == o->cap) {
        size_t ncap = o->cap ? o->cap * 2 : 256;
        struct token *nv = realloc(o->v, ncap * sizeof *nv);
        if (!nv)
            goto fail;
        o->v = nv;
        o->cap = ncap;
    }
    t = &o->v[o->n];
    memset(t, 0, sizeof *t);
    t->text = strndup(text, len);
    if (!t->text)
        goto fail;
    t->kind = kind;
    t->at = at;
    t->bol = lx->bol;
    lx->bol = 0;
    o->n++;
    return 0;
fail:
    diag_error(lx->d, lx->file, at.line, at.col, "out of memory");
    lx->failed = 1;
    return -1;
}

static int is_ident_start(unsigned char c)
{
    return isalpha(c) || c == '_' || c >= 0x80;
}

static int is_ident_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':' ||
           c >= 0x80;
}

static void lex_ident(struct lexer *lx)
{
    const char *start = lx->s;
    struct loc at = lx->at;

    while (lx->s < lx->end && is_ident_char((unsigned char)*lx->s))
        advance(lx);
    push(lx, TOK_IDENT, at, start, (size_t)(lx->s - start));
}

/* A word that starts with a digit: a number, a duration, a time or a
 * date, told apart by its shape. */
static enum tok_kind classify_number(const char *w, size_t n)
{
    size_t i = 0, digits;

    if (w[0] == '-')
        i++;
    digits = i;
    while (i < n && isdigit((unsigned char)w[i]))
        i++;
    digits = i - digits;
    if (i == n)
        return TOK_NUMBER;
    if (w[i] == '.' && i + 1 < n) {
        size_t j = i + 1, k;
        while (j < n && isdigit((unsigned char)w[j]))
            j++;
        if (j == n && j > i + 1)
            return TOK_NUMBER;
        for (k = j; k < n && isalpha((unsigned char)w[k]); k++)
            ;
        /* "1.5d": a duration the parser refuses, with the whole one to
         * write (one error, not two) */
        return j > i + 1 && j < n && k == n ? TOK_DURATION : TOK_EOF;
    }
    if (w[0] == '-')
        return TOK_EOF;
    if (w[i] == ':' && digits <= 2 && n == i + 3 &&
        isdigit((unsigned char)w[i + 1]) && isdigit((unsigned char)w[i + 2]))
        return TOK_TIME;
    if (w[i] == '-' && digits == 4 && n == 10 && w[7] == '-' &&
        isdigit((unsigned char)w[5]) && isdigit((unsigned char)w[6]) &&
        isdigit((unsigned char)w[8]) && isdigit((unsigned char)w[9]))
        return TOK_DATE;
    for (size_t j = i; j < n; j++)
        if (!isalpha((unsigned char)w[j]))
            return TOK_EOF;
    return TOK_DURATION;
}

static void lex_number(struct lexer *lx)
{
    const char *start = lx->s;
    struct loc at = lx->at;
    enum tok_kind kind;
    size_t n;

    advance(lx); /* a digit or '-' */
    while (lx->s < lx->end && (isalnum((unsigned char)*lx->s) ||
                               *lx->s == '.' || *lx->s == ':' || *lx->s == '-'))
        advance(lx);
    n = (size_t)(lx->s - start);
    kind = classify_number(start, n);
    if (kind == TOK_NUMBER && lx->s < lx->end && *lx->s == '%') {
        advance(lx); /* a share: holdout 10% */
        push(lx, TOK_PERCENT, at, start, n + 1);
        return;
    }
    if (kind == TOK_EOF) {
        diag_error(lx->d, lx->file, at.line, at.col, "invalid number \"%.*s\"",
                   (int)(n > 64 ? 64 : n), start);
        kind = TOK_NUMBER;
        push(lx, kind, at, "0", 1);
        return;
    }
    push(lx, kind, at, start, n);
}

/* "text" with \" \\ \n \t escapes, on one line. */
static void lex_string(struct lexer *lx)
{
    struct loc at = lx->at;
    char buf[RULE_MAX_TOKEN_BYTES];
    size_t n = 0;
    int toolong = 0;

    advance(lx); /* the quote */
    for (;;) {
        char c;
        if (lx->s >= lx->end || *lx->s == '\n') {
            diag_error(lx->d, lx->file, at.line, at.col,
                       "unterminated string: add the closing \"");
            break;
        }
        c = *lx->s;
        if (c == '"') {
            advance(lx);
            break;
        }
        if (c == '\\' && lx->s + 1 < lx->end && lx->s[1] != '\n') {
            char e = lx->s[1];
            advance(lx);
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e;
            if (e != '"' && e != '\\' && e != 'n' && e != 't')
                diag_error(lx->d, lx->file, lx->at.line, lx->at.col - 1,
                           "unknown escape \"\\%c\" in string: use \\\" or "
                           "\\\\",
                           e);
            if (n + 1 < sizeof buf)
                buf[n++] = c;
            else
                toolong = 1;
            advance(lx);
            continue;
        }
        {
            const char *p = lx->s;
            advance(lx);
            if (n + (size_t)(lx->s - p) < sizeof buf) {
                memcpy(buf + n, p, (size_t)(lx->s - p));
                n += (size_t)(lx->s - p);
            } else {
                toolong = 1;
            }
        }
    }
    if (toolong)
        diag_error(lx->d, lx->file, at.line, at.col,
                   "string longer than %d bytes", RULE_MAX_TOKEN_BYTES - 1);
    push(lx, TOK_STRING, at, buf, n);
}

/* /pattern/flags on one line; \/ stands for a slash and stays escaped
 * (PCRE2 reads \/ as /), so offsets in the pattern map to columns. */
static void lex_regex(struct lexer *lx)
{
    struct loc at = lx->at;
    const char *start;
    size_t n;
    struct token *t;
    int closed = 0;

    advance(lx);
    start = lx->s;
    while (lx->s < lx->end && *lx->s != '\n') {
        if (*lx->s == '\\' && lx->s + 1 < lx->end && lx->s[1] != '\n') {
            advance(lx);
            advance(lx);
            continue;
        }
        if (*lx->s == '/') {
            closed = 1;
            break;
        }
        advance(lx);
    }
    n = (size_t)(lx->s - start);
    if (!closed)
        diag_error(lx->d, lx->file, at.line, at.col,
                   "unterminated regular expression: add the closing /");
    else
        advance(lx);
    if (n >= RULE_MAX_TOKEN_BYTES) {
        diag_error(lx->d, lx->file, at.line, at.col,
                   "regular expression longer than %d bytes",
                   RULE_MAX_TOKEN_BYTES - 1);
        n = 0;
    }
    if (push(lx, TOK_REGEX, at, start, n) < 0)
        return;
    t = &lx->out->v[lx->out->n - 1];
    while (closed && lx->s < lx->end && isalpha((unsigned char)*lx->s)) {
        size_t k = strlen(t->flags);
        if (*lx->s != 'i')
            diag_error(lx->d, lx->file, lx->at.line, lx->at.col,
                       "unknown regular expression flag \"%c\": only i "
                       "(ignore case) is known",
                       *lx->s);
        else if (k + 1 < sizeof t->flags && !strchr(t->flags, 'i'))
            t->flags[k] = 'i';
        advance(lx);
    }
}

static int lex_op(struct lexer *lx)
{
    struct loc at = lx->at;
    char c = *lx->s, next = lx->s + 1 < lx->end ? lx->s[1] : 0;

    if ((c == '=' || c == '!') && next == '=') {
        push(lx, TOK_OP, at, lx->s, 2);
        advance(lx);
        advance(lx);
        return 1;
    }
    if (c == '<' || c == '>') {
        size_t n = next == '=' ? 2 : 1;
        push(lx, TOK_OP, at, lx->s, n);
        for (size_t i = 0; i < n; i++)
            advance(lx);
        return 1;
    }
    if (c == '=') {
        diag_error(lx->d, lx->file, at.line, at.col,
                   "\"=\" is not an operator: use \"==\" to compare");
        push(lx, TOK_OP, at, "==", 2);
        advance(lx);
        return 1;
    }
    return 0;
}

static int lex_punct(struct lexer *lx)
{
    static const struct {
        char c;
        enum tok_kind kind;
    } punct[] = {{'(', TOK_LPAREN},
                 {')', TOK_RPAREN},
                 {'{', TOK_LBRACE},
                 {'}', TOK_RBRACE},
                 {',', TOK_COMMA}};

    for (size_t i = 0; i < sizeof punct / sizeof punct[0]; i++)
        if (*lx->s == punct[i].c) {
            push(lx, punct[i].kind, lx->at, lx->s, 1);
            advance(lx);
            return 1;
        }
    return 0;
}

static void lex_one(struct lexer *lx)
{
    unsigned char c = (unsigned char)*lx->s;

    if (c == '\n' || c == ' ' || c == '\t' || c == '\r') {
        advance(lx);
    } else if (c == '#') {
        while (lx->s < lx->end && *lx->s != '\n')
            advance(lx);
    } else if (c == '"') {
        lex_string(lx);
    } else if (c == '/') {
        lex_regex(lx);
    } else if (isdigit(c) || (c == '-' && lx->s + 1 < lx->end &&
                              isdigit((unsigned char)lx->s[1]))) {
        lex_number(lx);
    } else if (lex_op(lx) || lex_punct(lx)) {
        /* done */
    } else if (is_ident_start(c) &&
               utf8_len((const unsigned char *)lx->s,
                        (const unsigned char *)lx->end) > 0) {
        lex_ident(lx);
    } else if (c >= 0x80) {
        advance(lx); /* reports the invalid byte */
    } else {
        diag_error(lx->d, lx->file, lx->at.line, lx->at.col,
                   "unexpected character \"%c\"", isprint(c) ? c : '?');
        advance(lx);
    }
}

int rule_lex(const char *file, const char *src, size_t len,
             struct rule_tokens *out, struct diag *d)
{
    struct lexer lx = {.file = file,
                       .s = src,
                       .end = src + len,
                       .at = {1, 1},
                       .bol = 1,
                       .out = out,
                       .d = d};

    memset(out, 0, sizeof *out);
    if (len > RULE_MAX_FILE_BYTES) {
        diag_error(d, file, 0, 0, "file larger than %d bytes",
                   RULE_MAX_FILE_BYTES);
        lx.end = src; /* lex nothing, but still end with EOF */
        lx.failed = 1;
    }
    if (lx.end - lx.s >= 3 && memcmp(lx.s, "\xef\xbb\xbf", 3) == 0)
        lx.s += 3; /* a byte order mark */
    while (lx.s < lx.end && !lx.failed)
        lex_one(&lx);
    if (push(&lx, TOK_EOF, lx.at, "", 0) < 0)
        return -1;
    return lx.failed ? -1 : 0;
}

void rule_tokens_free(struct rule_tokens *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].text);
    free(t->v);
    memset(t, 0, sizeof *t);
}

const char *tok_describe(const struct token *t, char *buf, size_t n)
{
    switch (t->kind) {
    case TOK_EOF:
        snprintf(buf, n, "end of file");
        break;
    case TOK_STRING:
        snprintf(buf, n, "string \"%.40s\"", t->text);
        break;
    case TOK_REGEX:
        snprintf(buf, n, "regular expression /%.40s/", t->text);
        break;
    default:
        snprintf(buf, n, "\"%.40s\"", t->text);
        break;
    }
    return buf;
}
