/*
 * render.h - running a compiled template (compile.h) against values: text
 * runs are copied, values looked up, filtered and escaped for where they
 * go (escape.h), sections skipped or entered. No parsing happens here.
 */
#ifndef NUDGE_TMPL_RENDER_H
#define NUDGE_TMPL_RENDER_H

#include <stddef.h>

#include "templates/buf.h"
#include "templates/compile.h"
#include "templates/escape.h"
#include "templates/sms.h"

/* What a render comes to. */
enum tmpl_status {
    TMPL_OK = 0,
    TMPL_MISSING = 1, /* a value with no default is missing: "missing X" */
    TMPL_INVALID = 2, /* a value nudge refuses to send (too long, not a
                         date...), or out of memory: the reason */
};

/* A value longer than this is refused: no message needs one, and a
 * runaway CRM field must not become a 1 MB SMS. */
#define TMPL_VALUE_MAX 65536

/* The value of a name, or NULL when there is none. For NS_TAG, "1" when
 * the student has the tag. The returned string must live until the
 * render ends. */
typedef const char *(*tmpl_lookup_fn)(void *arg, const struct tmpl_ref *ref);

/* Appends the rendering of p to out. A value that is NULL, empty or only
 * blanks is missing: its default is used, or the render stops with
 * TMPL_MISSING and "missing NAME" in why. Out of memory is TMPL_INVALID. */
enum tmpl_status tmpl_exec(const struct tmpl_prog *p, enum tmpl_esc esc,
                           tmpl_lookup_fn lookup, void *arg, struct tbuf *out,
                           char *why, size_t whylen);

/* --- SMS bodies, measured as they are written -------------------------- */
/* Counts the SMS measure (sms.h) of each text run of p once, so that
 * tmpl_exec_sms() only counts the values. Returns 0, or -1 out of memory
 * (p still renders, counting its text each time). */
int tmpl_prog_count_sms(struct tmpl_prog *p);
/* tmpl_exec() with ESC_PLAIN that also adds to *count (zeroed by the
 * caller) the counts of what it appends: tmpl_sms_finish() of them is
 * tmpl_sms_measure() of the appended text. */
enum tmpl_status tmpl_exec_sms(const struct tmpl_prog *p, tmpl_lookup_fn lookup,
                               void *arg, struct tbuf *out,
                               struct sms_count *count, char *why,
                               size_t whylen);

/* True when v counts as a value (not NULL, not empty, not only blanks). */
int tmpl_present(const char *v);

#endif
