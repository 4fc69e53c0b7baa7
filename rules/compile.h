/*
 * compile.h - a checked rule set in the form the engine evaluates: stages,
 * tags and attribute names interned to integers, regular expressions
 * compiled once (PCRE2 JIT), each condition a compact tree of nodes in
 * one array per rule, and an index of rules by trigger so that an event
 * costs only the rules it concerns. eval.h evaluates it against a
 * student; engine.h runs it.
 *
 * A rule set is read-only once made, so any number of threads may
 * evaluate it at once (each with its own struct rview).
 *
 * Ownership: ruleset_load_dir() / ruleset_build() return a set the caller
 * frees with ruleset_free(); it owns the parsed files its rules point
 * into.
 */
#ifndef NUDGE_RULES_COMPILE_H
#define NUDGE_RULES_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/diag.h"
#include "core/event.h"
#include "rules/ast.h"
#include "rules/checker.h"
#include "rules/intern.h"

enum cnode_op {
    OP_AND,
    OP_OR,
    OP_NOT,
    OP_STAGE_IN, /* arg: stage set; neg: != */
    OP_TAG,      /* arg: tag id */
    OP_TAG_RE,   /* arg: regex */
    OP_ATTR_NUM, /* arg: slot; cmp against num */
    OP_ATTR_STR, /* arg: slot; == or != str */
    OP_ATTR_IN,  /* arg: slot; list vals/nvals */
    OP_ATTR_RE,  /* arg: slot; re: regex */
    OP_PRESENT,  /* arg: slot */
    OP_FOLLOWED_UP,
    OP_IN_STAGE,    /* cmp against num (ms) */
    OP_SINCE_TOUCH, /* cmp against num (ms) */
};

struct cnode {
    uint8_t op;
    uint8_t cmp; /* enum cmp_op */
    uint8_t neg;
    int32_t a, b; /* children: indexes into the rule's nodes */
    int32_t arg;
    int32_t re; /* OP_ATTR_RE: the regex */
    double num;
    const char *str;          /* borrowed from the AST */
    const struct value *vals; /* OP_ATTR_IN */
    size_t nvals;
    const struct cond *src; /* for explanations */
};

struct cstep {
    const struct step *src;
    int cond; /* stop if/unless: root node, -1 none */
};

struct crule {
    const struct rule *src;
    const char *name;
    int when; /* root node of `when`, -1: always */
    struct cnode *nodes;
    size_t nnodes;
    struct cstep *steps;
    size_t nsteps;
    int trig_stage;   /* TRIG_EVENT on stage: its id */
    uint64_t version; /* a hash of the steps: a changed rule has another */
    size_t leaves;    /* leaf conditions of `when`, for the benchmark */
    int64_t span_ms;  /* the sum of its wall-clock waits */
    int64_t work_ms;  /* the sum of its `working` waits: hours part */
    long work_days;   /* and working days */
};

/* A set of stages as a bitmap (RULE_MAX_STAGES bits). */
struct stage_set {
    uint64_t bits[RULE_MAX_STAGES / 64];
};

struct ruleset {
    struct rule_file **files;
    size_t nfiles;
    struct crule *rules;
    size_t nrules;
    struct intern stages, tags, attrs;
    struct stage_set *stage_sets;
    size_t nstage_sets;
    pcre2_code **res;
    size_t nres;
    int uses_touch;    /* some rule reads time_since_touch */
    int uses_in_stage; /* some rule reads time_in_stage */
    int uses_working;  /* some rule waits in working time */
    /* Rules by trigger: event kinds index into by_event (EV_CUSTOM
     * included); schedules are listed in scheduled. */
    size_t *by_event[EV_CUSTOM + 1];
    size_t nby_event[EV_CUSTOM + 1];
    size_t *scheduled;
    size_t nscheduled;
    uint64_t hash; /* of the whole set, for logs */
};

/* Reads every *.rules file of dir (in name order), checks them as one set
 * against env and compiles them. Returns 0 and *out, or -1 with every
 * error in d (then *out is NULL). A missing folder is an error. */
int ruleset_load_dir(const char *dir, const struct rules_env *env,
                     struct ruleset **out, struct diag *d);
/* The same for the files named (an empty set is no error). */
int ruleset_load_files(const char *const *paths, size_t n,
                       const struct rules_env *env, struct ruleset **out,
                       struct diag *d);
/* The same for files already parsed; takes them (they are freed with the
 * set, or at once on failure). */
int ruleset_build(struct rule_file **files, size_t n,
                  const struct rules_env *env, struct ruleset **out,
                  struct diag *d);
void ruleset_free(struct ruleset *set);

/* The rule named name, or NULL. */
const struct crule *ruleset_find(const struct ruleset *set, const char *name);

/* The rules whose trigger this event fires: their indexes go to idx (at
 * most max). Returns how many (possibly more than max: then only max
 * were stored). */
size_t ruleset_triggered(const struct ruleset *set, const struct event *ev,
                         size_t *idx, size_t max);
/* True when some rule's trigger matches ev (the consumer loads the
 * student only then). */
int ruleset_wants(const struct ruleset *set, const struct event *ev);

#endif
