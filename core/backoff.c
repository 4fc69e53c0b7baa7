/*
 * backoff.c - exponential backoff with jitter (see backoff.h).
 */
#include "core/backoff.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int64_t backoff_ceiling(int64_t base_ms, int64_t cap_ms, int attempt)
{
    int64_t d = base_ms;

    if (attempt < 0)
        attempt = 0;
    for (int i = 0; i < attempt && d < cap_ms; i++)
        d *= 2;
    return d < cap_ms ? d : cap_ms;
}

int64_t backoff_full_jitter(int64_t base_ms, int64_t cap_ms, int attempt,
                            double r)
{
    return (int64_t)(r * (double)(backoff_ceiling(base_ms, cap_ms, attempt) + 1));
}

int64_t backoff_equal_jitter(int64_t base_ms, int64_t cap_ms, int attempt,
                             double r)
{
    int64_t half = backoff_ceiling(base_ms, cap_ms, attempt) / 2;

    return half + (int64_t)(r * (double)(half + 1));
}

double backoff_random(void)
{
    static __thread unsigned short seed[3];
    static __thread int seeded;

    if (!seeded) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed[0] = (unsigned short)ts.tv_nsec;
        seed[1] = (unsigned short)getpid();
        seed[2] = (unsigned short)((uintptr_t)&seeded >> 4);
        seeded = 1;
    }
    return erand48(seed);
}
