/*
 * log.h - the one place nudge writes diagnostics.
 *
 * stderr in the foreground (nudged -f, nudgectl), syslog otherwise. Nothing
 * that names a student's contact may be logged without going through
 * mask.h first: log lines end up in places personal data must not.
 */
#ifndef NUDGE_LOG_H
#define NUDGE_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* ident names the program in syslog and on stderr; foreground picks stderr. */
void log_init(const char *ident, int foreground, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info" or "debug"; -1 if none of them. */
int log_level_parse(const char *name);

/* log_warn appends strerror(errno); the x variants do not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs and exits with status 1. */
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
