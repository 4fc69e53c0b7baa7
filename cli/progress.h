/*
 * progress.h - the progress line of a long nudgectl command (diff, and
 * later forecast and report): "diff: 12,000/100,000 students, 45,000/s,
 * 2s left", redrawn in place on stderr. Shown only on a terminal and
 * never with --json, so scripts and pipes see nothing of it.
 *
 * The arithmetic (rate, time left) and the text are pure functions of
 * (done, total, elapsed) for the unit tests; the clock is a field, so a
 * test drives the redraw throttle without waiting.
 *
 * Ownership: a struct progress holds no memory; `what` and `unit` are
 * borrowed and must outlive it.
 */
#ifndef NUDGE_CLI_PROGRESS_H
#define NUDGE_CLI_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Redraws at most this often (the last one always comes). */
#define PROGRESS_REDRAW_MS 100

struct progress {
    FILE *out;              /* NULL: silent */
    const char *what, *unit; /* "diff", "students" */
    size_t done, total;
    int64_t start_ms, drawn_ms;
    int64_t (*now_ms)(void); /* monotonic ms; clock_mono_ms by default */
    int drawn;               /* something is on the line (to clear) */
};

/* --- the pure parts -------------------------------------------------------- */

/* Items per second after elapsed_ms; 0 when nothing can be said yet. */
double progress_rate(size_t done, int64_t elapsed_ms);
/* Seconds left at that rate, rounded up; -1 when unknown (no rate yet). */
long progress_seconds_left(size_t done, size_t total, int64_t elapsed_ms);
/* "12,000" into buf; returns buf. */
char *progress_group(unsigned long long v, char *buf, size_t n);
/* The line, without the carriage return: "diff: 12,000/100,000
 * students, 45,000/s, 2s left". Returns buf. */
char *progress_format(char *buf, size_t n, const char *what,
                      const char *unit, size_t done, size_t total,
                      int64_t elapsed_ms);
/* Whether a command shows progress: fp is a terminal and the output is
 * not --json. */
int progress_wanted(FILE *fp, int json);

/* --- the line ---------------------------------------------------------------- */

/* Starts the line on fp when show is true (progress_wanted()), else makes
 * every call below a no-op. now_ms NULL: the monotonic clock. */
void progress_start(struct progress *p, FILE *fp, int show, const char *what,
                    const char *unit, size_t total, int64_t (*now_ms)(void));
/* done of total are through; redraws when PROGRESS_REDRAW_MS have passed
 * or at the end. */
void progress_update(struct progress *p, size_t done);
/* Clears the line, so that what is printed next starts clean. */
void progress_end(struct progress *p);

#endif
