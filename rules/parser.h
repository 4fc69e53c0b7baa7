/*
 * parser.h - the recursive-descent parser of the rule language (the
 * grammar is in docs/rules.md, in EBNF). It reports every syntax error it
 * finds as "file:line:col: message" with a hint where one helps, skips to
 * the next statement and goes on, so one run shows them all. Condition
 * nesting is capped (RULE_MAX_DEPTH), so no input exhausts the stack.
 */
#ifndef NUDGE_RULES_PARSER_H
#define NUDGE_RULES_PARSER_H

#include <stddef.h>

#include "core/diag.h"
#include "rules/ast.h"

/* Parses src (len bytes, the contents of path). Returns the file, partial
 * when there were errors (d->errors grew), or NULL on allocation failure.
 * The caller frees it with rule_file_free(). */
struct rule_file *rule_parse(const char *path, const char *src, size_t len,
                             struct diag *d);

/* Reads and parses a file; an unreadable file is an error in d. Returns
 * NULL then, or on allocation failure. */
struct rule_file *rule_parse_path(const char *path, struct diag *d);

#endif
