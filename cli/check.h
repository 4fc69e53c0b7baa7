/*
 * check.h - the checkers `nudgectl check` runs, one per kind of file a
 * site writes. Each adds its errors and warnings to d (file:line:col:
 * message) and writes a short summary of what it checked to report;
 * adding a checker is one function here and one row in cmd_check.c.
 */
#ifndef NUDGE_CLI_CHECK_H
#define NUDGE_CLI_CHECK_H

#include <stdio.h>

#include "cli/ctl.h"
#include "core/diag.h"

/* The [channel.NAME] sections, opened and closed with the daemon's own
 * channels_open() (cli/check_channels.c): what stops nudged stops check
 * (a driver's keys, a plugin's ABI, an outbox path in a missing folder,
 * a secret not set). Returns 0, or -1 when it found errors. */
int check_channels(struct ctl *ctl, struct diag *d, FILE *report);

/* The templates folder: every part compiles; per template, the names it
 * needs. Returns 0, or -1 when it found errors. */
int check_templates(struct ctl *ctl, struct diag *d, FILE *report);

/* The rules folder (rules/checker.h): syntax, names, shapes; a summary
 * line. Returns 0, or -1 when it found errors. (cli/check_rules.c) */
int check_rules(struct ctl *ctl, struct diag *d, FILE *report);

/* [worktime] (cli/check_worktime.c): a summary line; warnings when rules
 * wait in working time (uses_working) with no calendar, and when the
 * calendar runs out within 60 days. */
void check_worktime(struct ctl *ctl, int uses_working, struct diag *d,
                    FILE *report);

/* Within check_templates(): warnings for a placeholder written with
 * single braces, and for a student attribute no student has (the
 * contract's fields and a sample of students in Redis, when
 * [templates] allowed_attributes is not set). (cli/check_placeholders.c) */
struct tmpl_set;
void check_placeholders(const struct config *cfg,
                        const struct tmpl_set *set, struct diag *d);

#endif
