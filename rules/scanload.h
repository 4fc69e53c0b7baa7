/*
 * scanload.h - finding and loading many students, for a schedule's scan
 * and for nudgectl's commands over all students (diff): the ids come one
 * SCAN page at a time; the loads overlap Redis and the caller: the reads
 * of the next chunk are queued before the replies of the current one are
 * read, so Redis serves chunk k+1 while the rules are evaluated on chunk
 * k.
 */
#ifndef NUDGE_RULES_SCANLOAD_H
#define NUDGE_RULES_SCANLOAD_H

#include <stddef.h>

#include "core/redis.h"
#include "core/student.h"

/* Calls fn for each student of ids that exists. The student is freed
 * after fn returns unless fn takes it (sets *st to NULL; it then frees it
 * with student_free()). fn must not use rc: the next chunk's replies are
 * pending on it. A non-zero return from fn stops the calls (the replies
 * are still read) and is returned. Returns 0, fn's non-zero value, or -1
 * on a Redis error (rc->errstr). */
int students_each(struct rconn *rc, const char *prefix, const char *const *ids,
                  size_t n, int (*fn)(void *ctx, struct student **st),
                  void *ctx);

/* One SCAN page of the student hashes (prefix + "student:{ID}", TYPE
 * hash): calls fn with each valid id (borrowed for the call). cursor is
 * "0" to begin and is "0" again after the last page. Returns 0, fn's
 * non-zero value (the rest of the page is skipped), or -1 on a Redis
 * error (rc->errstr). */
#define STUDENTS_CURSOR_MAX 32
int students_scan_page(struct rconn *rc, const char *prefix,
                       char cursor[STUDENTS_CURSOR_MAX],
                       int (*fn)(void *ctx, const char *id), void *ctx);
/* Every student id, all pages, appended to ids (the caller
 * strset_clear()s it): for a tool that first counts what it will read.
 * 0, or -1 on a Redis error (rc->errstr) or no memory. */
int students_list_all(struct rconn *rc, const char *prefix,
                      struct strset *ids);

#endif
