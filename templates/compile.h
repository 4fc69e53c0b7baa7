/*
 * compile.h - the template language's compiler: text with {{...}} tags in,
 * a flat program out (text runs, values, sections with their end), so that
 * rendering (render.h) never parses. docs/templates.md is the language.
 *
 * Ownership: tmpl_compile() returns a program the caller frees with
 * tmpl_prog_free(); it owns its text, ops and names.
 */
#ifndef NUDGE_TMPL_COMPILE_H
#define NUDGE_TMPL_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"
#include "core/student.h"

struct sms_count; /* templates/sms.h */

/* Where a name is looked up. */
enum tmpl_ns {
    NS_STUDENT,    /* name: the student's attribute */
    NS_OWNER,      /* owner.name: the owner's staff attribute */
    NS_SUPERVISOR, /* supervisor.name: the owner's supervisor's */
    NS_SCHOOL,     /* school.name: [school] of the config */
    NS_MSG,        /* msg.unsubscribe_url ...: the message's own */
    NS_TAG,        /* tag:intent:high: "1" when the student has the tag */
};

enum tmpl_filter { FILTER_NONE, FILTER_MASK, FILTER_DATE, FILTER_NUMBER };

/* How a name is used, for `nudgectl check`. */
#define REF_REQUIRED 0x01 /* a value without a default, outside its section */
#define REF_OPTIONAL 0x02 /* with a default, guarded, or a section test */

struct tmpl_ref {
    enum tmpl_ns ns;
    unsigned use; /* REF_* bits */
    char *key;    /* the name in its namespace: "name", "intent:high" */
    char *full;   /* as written: "owner.name", "tag:intent:high" */
};

enum tmpl_op_kind { OP_TEXT, OP_VALUE, OP_SECTION };

struct tmpl_op {
    unsigned char kind;   /* enum tmpl_op_kind */
    unsigned char filter; /* VALUE: enum tmpl_filter */
    unsigned char inverted;    /* SECTION: {{^name}} */
    unsigned char has_default; /* VALUE: {{name|default}} */
    uint32_t off, len; /* TEXT: the text; VALUE: the default; in text */
    uint32_t ref;      /* VALUE, SECTION: index into refs */
    uint32_t end;      /* SECTION: the index of the op after its close */
};

struct tmpl_prog {
    struct tmpl_op *ops;
    size_t nops, capops;
    char *text; /* every text run and default, back to back */
    size_t ntext, captext;
    struct tmpl_ref *refs;
    size_t nrefs, caprefs;
    struct sms_count *sms; /* per op: a TEXT op's SMS counts, from
                              tmpl_prog_count_sms() (render.h); or NULL */
};

/* Where a piece of text starts in its file, for messages. */
struct tmpl_pos {
    const char *file;
    int line, col;
};

/* Sizes the compiler refuses beyond. */
#define TMPL_MAX_DEPTH 32 /* nested sections */

/* Compiles n bytes of text (UTF-8, no NUL: the caller checks) found at
 * pos. school, when not NULL, is the config's [school] (sorted):
 * school.X must be in it. Returns the program, or NULL with every error
 * added to d. */
struct tmpl_prog *tmpl_compile(const char *text, size_t n,
                               const struct tmpl_pos *pos,
                               const struct attrs *school, struct diag *d);
/* What the config lets templates name. */
struct tmpl_names {
    const struct attrs *school; /* [school], sorted; NULL: any school.X */
    const char *allowed; /* [templates] allowed_attributes: the student
                            attributes (names without a prefix), split by
                            spaces or commas; NULL or "": any */
};
/* tmpl_compile() that also refuses a student attribute not in
 * names->allowed (data minimisation, docs/policy.md). */
struct tmpl_prog *tmpl_compile_names(const char *text, size_t n,
                                     const struct tmpl_pos *pos,
                                     const struct tmpl_names *names,
                                     struct diag *d);
void tmpl_prog_free(struct tmpl_prog *p);

/* Line and column (in characters, from 1) of offset in text that starts
 * at pos. */
void tmpl_where(const char *text, size_t offset, const struct tmpl_pos *pos,
                int *line, int *col);

/* The names a message's own values (msg.X) may have, NULL-terminated. */
extern const char *const tmpl_msg_names[];
/* The values an alert's heading gets beside the student's (rules/
 * alert_message.c): always allowed, whatever allowed_attributes says. */
extern const char *const tmpl_alert_names[];

#endif
