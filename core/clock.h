/*
 * clock.h - the time as nudge sees it. Unit tests inject a clock so that
 * "three days later" takes no time; everything else reads the real one.
 */
#ifndef NUDGE_CLOCK_H
#define NUDGE_CLOCK_H

#include <stdint.h>

typedef int64_t (*clock_fn)(void);

/* Wall-clock milliseconds since the epoch (or the injected clock's). */
int64_t clock_now_ms(void);
/* Monotonic milliseconds, for timeouts and rates; never injected. */
int64_t clock_mono_ms(void);
/* Replaces the wall clock; NULL restores the real one. For tests. */
void clock_inject(clock_fn fn);

/* [daemon] test_clock = FILE (integration tests only, docs/operations.md):
 * the wall clock becomes the number of milliseconds since the epoch
 * written in FILE, read at every call, so that a test moves nudged and
 * nudgectl through days by writing it; the delayed queue's scripts take
 * that clock instead of Redis's (queue_open()). Never in production: it
 * logs a warning. 0, or -1 when FILE cannot be read now. */
int clock_use_file(const char *path);
/* 1 when clock_use_file() is in force. */
int clock_from_file(void);

/* Makes zone (an IANA name, "Asia/Shanghai") the process's local time,
 * for schedules and printed times: nudged and nudgectl call it once, at
 * start, with [delivery] timezone, before any thread. */
void clock_set_zone(const char *zone);

/* Sleeps ms milliseconds, waking early when *stop becomes non-zero (checked
 * every 50 ms). Returns 0, or -1 when woken by *stop. */
int clock_sleep_ms(int64_t ms, volatile int *stop);

#endif
