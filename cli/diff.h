/*
 * diff.h - what `nudgectl diff OLD NEW` compares (cli/cmd_diff.c runs it):
 * two compiled rule sets paired by rule name (added, removed, changed,
 * unchanged, and which parts of a changed rule differ), then, student by
 * student, what the change does to today's students: who newly matches a
 * rule's `when`, who no longer does, and whose run in progress the new
 * rules would cut short. docs/insight.md, "Diff before deploy", defines
 * each figure.
 *
 * The evaluation is the daemon's own (rules/eval.h); the pairing and the
 * counting read no Redis, so that the command does the reading and the
 * counts stay a function of the students given.
 *
 * Ownership: diff_init() borrows both sets (they must outlive the diff)
 * and allocates; diff_free() frees.
 */
#ifndef NUDGE_CLI_DIFF_H
#define NUDGE_CLI_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/student.h"
#include "rules/compile.h"
#include "rules/eval.h"

#define DIFF_SAMPLE 5 /* student ids shown per figure */

enum diff_status { DIFF_CHANGED, DIFF_ADDED, DIFF_REMOVED, DIFF_SAME };

/* The parts of a changed rule that differ (bits). */
enum diff_part {
    DIFF_TRIGGER = 1 << 0, /* on / every / at */
    DIFF_WHEN = 1 << 1,    /* the `when` condition */
    DIFF_LIMIT = 1 << 2,   /* limit N per D */
    DIFF_STEPS = 1 << 3,   /* the steps' shape: runs in progress end */
    DIFF_STOPS = 1 << 4,   /* only the conditions of stop steps */
    DIFF_TEXT = 1 << 5,    /* none of these, yet the text differs */
};

struct diff_sample {
    char id[64];
    char contact[64]; /* masked (core/mask.h), or "-" */
};

struct diff_count {
    size_t n;
    size_t nsample;
    struct diff_sample sample[DIFF_SAMPLE];
};

struct diff_rule {
    const char *name;
    const struct crule *before, *after; /* NULL: not in that set */
    enum diff_status status;
    unsigned parts; /* DIFF_CHANGED: enum diff_part bits */
    size_t match_before, match_after; /* students `when` matches */
    size_t running;                   /* with a run of it in progress */
    struct diff_count newly, no_longer, cut_short;
};

struct diff {
    const struct config *cfg;
    const struct ruleset *before, *after;
    struct diff_rule *rules; /* changed, added, removed, unchanged; by name */
    size_t nrules;
    size_t nstatus[DIFF_SAME + 1];
    size_t students; /* counted so far */
    struct rview vbefore, vafter;
};

/* Pairs the rules of before and after and compares each pair. Returns 0,
 * or -1 on no memory. */
int diff_init(struct diff *d, const struct config *cfg,
              const struct ruleset *before, const struct ruleset *after);
void diff_free(struct diff *d);

/* Whether the runs of rule i need reading: it was in the old set and
 * changed or went (an unchanged rule cuts nothing short). */
int diff_wants_runs(const struct diff *d, size_t i);
/* Counts one student at now_ms. runs[i] is the value of d->rules[i] in
 * the student's runs hash ("RUNID STARTED_MS", docs/redis.md), or NULL
 * for no run (or one not read). */
void diff_student(struct diff *d, const struct student *st,
                  const char *const *runs, int64_t now_ms);

/* "changed", "added", "removed", "unchanged". */
const char *diff_status_name(enum diff_status s);
/* "when, steps" into buf; returns buf. */
char *diff_parts_format(unsigned parts, char *buf, size_t n);

#endif
