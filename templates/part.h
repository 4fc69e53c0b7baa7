/*
 * part.h - one part file of a template (NAME.sms, NAME.email,
 * NAME.email.html, NAME.wecom, NAME.webhook): its header lines (Subject,
 * Kind, Format, Template-Code, Param-NAME) and its body, each compiled.
 * Internal to templates/: the rest of nudge sees struct tmpl_part as
 * opaque (tmpl.h).
 *
 * Ownership: a part owns its programs, file name, code and params;
 * tmpl_part_clear() frees them. name points to its template's name.
 */
#ifndef NUDGE_TMPL_PART_H
#define NUDGE_TMPL_PART_H

#include <stddef.h>

#include "core/config.h"
#include "core/diag.h"
#include "core/msgclass.h"
#include "templates/compile.h"
#include "templates/tmpl.h"

/* A provider template's named parameter: Param-NAME: value. */
struct tmpl_param {
    char *name;
    struct tmpl_prog *value;
};

struct tmpl_part {
    enum tmpl_type type;
    const char *name;          /* the template's name */
    char *file;                /* NAME.sms, for messages */
    char *html_file;           /* NAME.email.html, or NULL */
    struct tmpl_prog *subject; /* email */
    struct tmpl_prog *body;    /* NULL: a provider template, no preview */
    struct tmpl_prog *html;    /* email, or NULL */
    int markdown;              /* wecom: Format: markdown */
    enum msg_class cls;        /* Kind: (0, marketing, when unmarked) */
    int kind_line;             /* the Kind line, 0: none */
    char *provider_code;       /* sms: Template-Code, or NULL */
    struct tmpl_param *params;
    size_t nparams;
};

/* A file's text after the checks every part needs (size, NUL, UTF-8). */
struct part_text {
    const char *file; /* as it appears in messages */
    const char *text;
    size_t n;
};

/* Parses and compiles the part file t of the given type into part (which
 * the caller zeroed and set type and name in). Returns 0, or -1 with the
 * errors in d; warnings (SMS length) go to d too. */
int tmpl_part_parse(struct tmpl_part *part, const struct part_text *t,
                    const struct config *cfg, struct diag *d);
/* Compiles NAME.email.html into part->html. 0 or -1. */
int tmpl_part_add_html(struct tmpl_part *part, const struct part_text *t,
                       const struct config *cfg, struct diag *d);
void tmpl_part_clear(struct tmpl_part *part);

#endif
