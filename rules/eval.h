/*
 * eval.h - evaluating a compiled rule set's conditions against one
 * student. A struct rview is the student as the rules see it: its stage
 * and tags as interned ids, its attributes parsed as numbers once, plus
 * what the run knows (followed up or not, the last touch). It is made
 * once per thread, loaded once per student and then used for every rule
 * whose trigger matched; attributes are looked up lazily, on first use.
 *
 * Missing and non-numeric attributes make a comparison false, never an
 * error. Evaluation never allocates.
 *
 * Ownership: rview_init() allocates; rview_free() frees. A loaded view
 * borrows the student, which must outlive its use.
 */
#ifndef NUDGE_RULES_EVAL_H
#define NUDGE_RULES_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/student.h"
#include "rules/compile.h"

struct rslot {
    uint32_t gen;  /* == view gen: loaded */
    const char *s; /* NULL: missing */
    double num;
    int numeric;
};

struct rview {
    const struct ruleset *set;
    const struct student *st;
    uint32_t gen;
    int stage; /* -1: missing or undeclared */
    int has_stage;
    int64_t stage_at_ms; /* -1: unknown */
    uint64_t *tags;      /* bits by tag id */
    size_t ntagwords;
    struct rslot *slots;
    pcre2_match_data *md;
    int64_t now_ms;
    int followed_up;       /* set by the engine for `stop if followed_up` */
    int64_t last_touch_ms; /* -1: never touched */
};

/* Returns 0, or -1 on no memory. */
int rview_init(struct rview *v, const struct ruleset *set);
void rview_free(struct rview *v);
/* Points the view at a student; now_ms is "now" for time conditions.
 * Resets followed_up and last_touch_ms. */
void rview_load(struct rview *v, const struct student *st, int64_t now_ms);

/* Evaluates node root of rule r (root -1 is true). */
int rule_cond(const struct crule *r, int root, struct rview *v);
/* A rule's `when`. */
int rule_when(const struct crule *r, struct rview *v);
/* 0 when a rule's `when` is false whatever the student's tags are (the
 * rest of it decides: "score >= 600 and tag ..." with a score of 580),
 * else 1. The tags are not looked at: a student loaded without them
 * will do (the events consumer reads them only where this is 1). */
int rule_when_may_hold(const struct crule *r, struct rview *v);

/* As rule_cond(); when false, writes why into why (the first part that
 * failed, with the student's value: "score >= 600 (score is 580)"). */
int rule_cond_explain(const struct crule *r, int root, struct rview *v,
                      char *why, size_t n);

/* Parses an attribute value as a number: a whole decimal text, no "inf"
 * or "nan". Returns 1 and sets *out, or 0. */
int rval_number(const char *s, double *out);

#endif
