/*
 * delivery.c - the student's zone and quiet hours (see delivery.h); zone
 * offsets come from core/tz.h.
 */
#include "rules/delivery.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/tz.h"

/* --- the student's zone ---------------------------------------------------- */

/* Unknown zone names already reported: each is logged (with the first
 * student seen with it) and counted once per process. Bounded: past
 * UNKNOWN_MAX names one last warning says so and nudgectl doctor lists
 * the rest. */
#define UNKNOWN_MAX 64

static char unknown_names[UNKNOWN_MAX][TZ_NAME_MAX];
static size_t nunknown;
static int unknown_full_said;
static pthread_mutex_t unknown_lock = PTHREAD_MUTEX_INITIALIZER;

static void report_unknown_zone(const char *zone, const char *student,
                                const char *used)
{
    char shown[48];
    int fresh = 1, full = 0;

    pthread_mutex_lock(&unknown_lock);
    for (size_t i = 0; i < nunknown && fresh; i++)
        fresh = strncmp(unknown_names[i], zone, TZ_NAME_MAX - 1) != 0;
    if (fresh && nunknown < UNKNOWN_MAX)
        snprintf(unknown_names[nunknown++], TZ_NAME_MAX, "%s", zone);
    else if (fresh && !unknown_full_said)
        full = unknown_full_said = 1;
    else
        fresh = 0;
    pthread_mutex_unlock(&unknown_lock);
    if (!fresh)
        return;
    metric_inc(metric_counter("nudge_unknown_timezones_total",
                              "Distinct unknown student tz values seen (each "
                              "replaced by [delivery] timezone)",
                              NULL));
    tz_printable(shown, sizeof shown, zone); /* data from the CRM */
    if (full)
        log_warnx("more than %d unknown time zones in students' tz: no more "
                  "are logged; `nudgectl doctor` lists them all",
                  UNKNOWN_MAX);
    else
        log_warnx("student %s: unknown time zone \"%s\" in tz: using %s "
                  "([delivery] timezone); `nudgectl doctor` lists every "
                  "student's unknown zone",
                  student, shown, used);
}

const char *delivery_default_zone(const struct config *cfg)
{
    return cfg->delivery.timezone && cfg->delivery.timezone[0]
               ? cfg->delivery.timezone
               : "UTC";
}

const char *delivery_zone(const struct config *cfg, const struct student *st)
{
    const char *tz = student_get(st, "tz");

    if (!tz || !tz[0])
        return delivery_default_zone(cfg);
    if (tz_known(tz))
        return tz;
    report_unknown_zone(tz, st->id, delivery_default_zone(cfg));
    return delivery_default_zone(cfg);
}

/* --- quiet hours ------------------------------------------------------------ */

int quiet_hours_parse(const char *hours, int *from, int *to)
{
    int h1, m1, h2, m2;

    if (!hours || !hours[0] ||
        sscanf(hours, "%d:%d-%d:%d", &h1, &m1, &h2, &m2) != 4)
        return -1;
    *from = h1 * 60 + m1;
    *to = h2 * 60 + m2;
    return *from == *to ? -1 : 0;
}

int64_t quiet_until(const char *hours, const char *zone, int64_t now_ms)
{
    int from, to, now;
    int64_t local;

    if (quiet_hours_parse(hours, &from, &to) < 0)
        return 0;
    local = tz_to_local(zone, now_ms);
    now = (int)((local % 86400000 + 86400000) % 86400000 / 60000);
    if (from < to ? (now < from || now >= to) : (now < from && now >= to))
        return 0;
    /* 08:00 with the offset of 08:00, not of now: a daylight-saving
     * change may fall in between */
    return tz_next_local(zone, now_ms, to);
}
