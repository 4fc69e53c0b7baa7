/*
 * clock.c - wall and monotonic time, with an injectable wall clock.
 */
#include "core/clock.h"

#include <stdlib.h>
#include <time.h>

static clock_fn injected;

static int64_t real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_now_ms(void)
{
    return injected ? injected() : real_now_ms();
}

int64_t clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_inject(clock_fn fn)
{
    injected = fn;
}

void clock_set_zone(const char *zone)
{
    if (zone && *zone) {
        setenv("TZ", zone, 1);
        tzset();
    }
}

int clock_sleep_ms(int64_t ms, volatile int *stop)
{
    while (ms > 0) {
        if (stop && *stop)
            return -1;
        int64_t step = ms < 50 ? ms : 50;
        struct timespec ts = {step / 1000, (step % 1000) * 1000000};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return stop && *stop ? -1 : 0;
}
