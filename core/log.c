/*
 * log.c - levels, stderr or syslog, in the manner of OpenSMTPD's log.c.
 * Every line passes mask_log_line() (core/mask.h) on its way out: contacts
 * masked and control characters escaped, whoever logs it.
 */
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "core/mask.h"

static const char *log_ident = "nudge";
static int log_foreground = 1;
static enum log_level log_level = LOG_LVL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_init(const char *ident, int foreground, enum log_level level)
{
    log_ident = ident;
    log_foreground = foreground;
    log_level = level;
    if (!foreground)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
    log_level = level;
}

enum log_level log_get_level(void)
{
    return log_level;
}

int log_level_parse(const char *name)
{
    for (int i = 0; i <= LOG_LVL_DEBUG; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

static void log_vwrite(enum log_level level, int with_errno, const char *fmt,
                       va_list ap)
{
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    char raw[2048], msg[4 * sizeof raw]; /* room for escapes */
    int saved = errno;

    if (level > log_level)
        return;
    vsnprintf(raw, sizeof raw, fmt, ap);
    if (with_errno) {
        size_t len = strlen(raw);
        snprintf(raw + len, sizeof raw - len, ": %s", strerror(saved));
    }
    /* here, not at the call sites: no caller can forget */
    mask_log_line(raw, msg, sizeof msg);
    if (!log_foreground) {
        syslog(prio[level], "%s", msg);
        return;
    }
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000,
            log_ident, level_names[level], msg);
    pthread_mutex_unlock(&log_lock);
    errno = saved;
}

#define LOG_FORWARD(level, with_errno)                                         \
    do {                                                                       \
        va_list ap;                                                            \
        va_start(ap, fmt);                                                     \
        log_vwrite(level, with_errno, fmt, ap);                                \
        va_end(ap);                                                            \
    } while (0)

void log_warn(const char *fmt, ...)
{
    LOG_FORWARD(LOG_LVL_WARN, 1);
}

void log_warnx(const char *fmt, ...)
{
    LOG_FORWARD(LOG_LVL_WARN, 0);
}

void log_info(const char *fmt, ...)
{
    LOG_FORWARD(LOG_LVL_INFO, 0);
}

void log_debug(const char *fmt, ...)
{
    LOG_FORWARD(LOG_LVL_DEBUG, 0);
}

void log_errorx(const char *fmt, ...)
{
    LOG_FORWARD(LOG_LVL_ERROR, 0);
}

void fatalx(const char *fmt, ...)
{
    LOG_FORWARD(LOG_LVL_ERROR, 0);
    exit(1);
}
