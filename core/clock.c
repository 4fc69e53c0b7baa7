/*
 * clock.c - wall and monotonic time, with an injectable wall clock.
 */
#include "core/clock.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

static clock_fn injected;
static char *clock_file; /* clock_use_file()'s, for the life of the process */

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

static int64_t file_now_ms(void)
{
    char buf[32];
    int fd = open(clock_file, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);

    if (fd >= 0)
        close(fd);
    if (n <= 0) /* being rewritten: the real time would jump; retry once */
        return real_now_ms();
    buf[n] = '\0';
    return strtoll(buf, NULL, 10);
}

int clock_use_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    close(fd);
    free(clock_file);
    if (!(clock_file = strdup(path)))
        return -1;
    clock_inject(file_now_ms);
    log_warnx("[daemon] test_clock: the time is read from %s, not the "
              "system clock: for tests only",
              path);
    return 0;
}

int clock_from_file(void)
{
    return clock_file != NULL && injected == file_now_ms;
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
