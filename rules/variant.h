/*
 * variant.h - weighted template variants of a send:
 *
 *     send sms variant invite_a 50%, invite_b 50%
 *
 * Each student gets one of the templates, drawn by a pure function of the
 * rule's name, the step's number (counted from 1) and the student's id:
 * the 64-bit FNV-1a (core/hash.h) of "RULE\0STEP\0STUDENT" modulo 10000,
 * placed on the weights laid end to end in the order written. Every
 * daemon, every restart and `nudgectl simulate` draw the same; changing
 * the weights or their order, or moving the step, draws anew.
 *
 * The parser (parse_step.c) reads the list, the checker checks each
 * template; the send path (rules/send.c, rules/claims.c) asks
 * variant_step() for the step as it is sent to this student: a copy whose
 * tmpl is the chosen template, so dedup, caps and policy see it as a plain
 * send of that template. run_entry() names the variant on the timeline.
 * docs/rules.md, "Variants"; docs/insight.md, "Variants".
 */
#ifndef NUDGE_RULES_VARIANT_H
#define NUDGE_RULES_VARIANT_H

#include <stddef.h>

#include "rules/ast.h"

/* Weights are counted as holdout shares are: 10000 is 100%. */
#define VARIANT_SCALE 10000

/* The index in v[0..n) of the variant drawn for student at step `step`
 * (counted from 0 here; the hash counts it from 1) of rule. n > 0 and the
 * weights sum to VARIANT_SCALE. */
size_t variant_pick(const char *rule, size_t step, const char *student,
                    const struct variant *v, size_t n);

/* The template step s (step `step` of rule) sends to student: the drawn
 * variant's, or s->tmpl for a plain step. Borrowed from s. */
const char *variant_template(const struct step *s, const char *rule,
                             size_t step, const char *student);

/* s itself for a step without variants; else buf, a shallow copy of s
 * whose tmpl is the drawn variant's (borrowed: valid while s is). */
const struct step *variant_step(const struct step *s, const char *rule,
                                size_t step, const char *student,
                                struct step *buf);

#endif
