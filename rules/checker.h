/*
 * checker.h - what the parser cannot see: names that must exist (stages,
 * channels in the config, templates and the part a channel needs),
 * duplicate rules, regular expressions PCRE2 rejects (the column points
 * into the pattern), steps after an unconditional stop, a wait at the
 * end, escalation levels below 1, schedules that can never fire.
 * Messages are "file:line:col: message" with a "did you mean" hint where
 * a name is near a known one.
 *
 * The environment (channels and templates) comes from the config, or is
 * made by hand in tests. Ownership: rules_env_from_config() fills an env
 * that owns its strings; rules_env_free() frees them.
 */
#ifndef NUDGE_RULES_CHECKER_H
#define NUDGE_RULES_CHECKER_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/diag.h"
#include "rules/ast.h"
#include "templates/tmpl.h"

/* A configured channel: the name the rules use, the part it renders. */
struct rule_chan {
    char *name;
    char *as; /* "sms", "email", "wecom", "webhook" */
};

/* A template known in the templates folder and its parts. */
struct rule_tmpl {
    char *name;
    unsigned parts; /* TMPL_PART_* bits */
};

/* One bit a part type, in the templates' own order (templates/tmpl.h). */
#define TMPL_PART_SMS (1u << TMPL_SMS)
#define TMPL_PART_EMAIL (1u << TMPL_EMAIL)
#define TMPL_PART_WECOM (1u << TMPL_WECOM)
#define TMPL_PART_WEBHOOK (1u << TMPL_WEBHOOK)

struct rules_env {
    struct rule_chan *chans;
    size_t nchans;
    int check_templates; /* 0: template names are not checked */
    struct rule_tmpl *tmpls;
    size_t ntmpls;
    int64_t now_ms; /* for "at" in the past; 0 skips that check */
};

/* The channels of cfg and the templates of its templates folder (files
 * NAME.sms, NAME.email, NAME.wecom, NAME.webhook). Returns 0 or -1 (no
 * memory). A missing templates folder is no error here: every template
 * is then unknown. */
int rules_env_from_config(struct rules_env *env, const struct config *cfg);
/* Adds the templates of folder dir to env (and turns the check on). */
int rules_env_scan_templates(struct rules_env *env, const char *dir);
/* Adds a channel or a template (parts: TMPL_PART_* bits) by hand, for
 * tests and tools. Return 0 or -1 (no memory). */
int rules_env_add_channel(struct rules_env *env, const char *name,
                          const char *as);
int rules_env_add_template(struct rules_env *env, const char *name,
                           unsigned parts);
void rules_env_free(struct rules_env *env);

/* The part bit of a message type ("sms" -> TMPL_PART_SMS), 0 if none. */
unsigned rules_part_bit(const char *type);

/* Checks files (all the rule files of one set, in order) as one rule set:
 * the stages line is shared, rule names are unique across files. Adds
 * every problem to d. Returns the number of errors found. */
int rules_check(struct rule_file *const *files, size_t n,
                const struct rules_env *env, struct diag *d);

/* Sorts the items d gained since it had `from` of them by place (file
 * in order of first mention, then line and column), so that syntax and
 * meaning errors read top to bottom. */
void rules_diag_sort(struct diag *d, size_t from);

/* The column of byte offset off in a regex written at re_at (the opening
 * slash): for PCRE2 errors. */
int regex_column(struct loc re_at, const char *pattern, size_t off);

#endif
