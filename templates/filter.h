/*
 * filter.h - the few value filters of the template language: {{mask
 * phone}}, {{date exam_at}}, {{number fee}} (docs/templates.md).
 */
#ifndef NUDGE_TMPL_FILTER_H
#define NUDGE_TMPL_FILTER_H

#include <stddef.h>

#include "templates/compile.h"

/* Long enough for any filter's output. */
#define FILTER_OUT_MAX 128

/* Writes the filtered value v into out (FILTER_OUT_MAX bytes). lang is
 * the student's language ("zh", "en-GB"; NULL for the default, Chinese).
 * Returns 0, or -1 when v does not suit the filter, with why in err. */
int tmpl_filter_apply(enum tmpl_filter f, const char *v, const char *lang,
                      char *out, char *err, size_t errlen);

#endif
