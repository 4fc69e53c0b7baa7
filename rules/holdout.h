/*
 * holdout.h - holdout groups: `holdout 10%` in a rule keeps that share of
 * the students who would start it out of it, so that what the rule is
 * worth can be measured against them (docs/insight.md, "Holdout groups").
 *
 * The draw is a pure function of the rule's name and the student's id:
 * the 64-bit FNV-1a (core/hash.h) of "RULE\0STUDENT" modulo 10000 below
 * the share in hundredths of a percent. Every daemon, every restart and
 * `nudgectl simulate` draw the same; renaming a rule draws its groups
 * anew. Shares are kept in hundredths of a percent (1000 is 10%), so a
 * share written with one decimal (12.5%) is exact.
 *
 *     would-be run ── run_start() (runs hash, limit: as for any run)
 *          │
 *          ├─ not drawn ── the steps run
 *          └─ drawn ────── holdout_record(): one `held_out` timeline
 *                          entry, nudge_holdout_total{rule}, no step
 *
 * The engine (rules/engine.c, start_rule) is the only caller of
 * holdout_record(); the parser reads shares with holdout_share_parse().
 */
#ifndef NUDGE_RULES_HOLDOUT_H
#define NUDGE_RULES_HOLDOUT_H

#include <stddef.h>

struct rule;
struct run;

/* What a share is counted in: 10000 is 100%. */
#define HOLDOUT_SCALE 10000

/* --- the draw (pure) ------------------------------------------------------ */

/* Reads a percentage as written in a rule ("10%", "12.5%": above 0, below
 * 100, at most one decimal) into *share (hundredths of a percent). 0, or
 * -1 with why (for a person: what a share must be) in why. */
int holdout_share_parse(const char *text, int *share, char *why, size_t n);
/* share as a percentage ("10%", "12.5%") in buf; returns buf. */
char *holdout_share_format(int share, char *buf, size_t n);
/* 1 when the student is in the holdout of a rule named rule that keeps
 * share (hundredths of a percent) out, else 0. */
int holdout_draw(const char *rule, const char *student, int share);
/* The same for a parsed rule: 0 when it has no holdout. */
int holdout_keeps_out(const struct rule *r, const char *student);

/* --- in the engine -------------------------------------------------------- */

/* A run r that has just started (run_start) and whose student is held
 * out: writes its `held_out` entry (once per run id, even when the event
 * or the scan batch that started it is handled again), counts it, and
 * leaves the run's state as a run of the rule would have it: a rule that
 * waits keeps the would-be run in progress (its next trigger starts no
 * new one until the rule's waits have passed, plus a day, as for a lost
 * run; rules/run.h), one without waits ends it at once. No step runs.
 * 0, or -1 when Redis failed. */
int holdout_record(struct run *r);

#endif
