/*
 * student_store.h - reading students and staff from Redis (the contract is
 * docs/redis.md): the hash, the tags and the opt-outs of one student in one
 * round trip, and many students pipelined for scans and batches.
 */
#ifndef NUDGE_STUDENT_STORE_H
#define NUDGE_STUDENT_STORE_H

#include <stddef.h>

#include "core/redis.h"
#include "core/student.h"

/* Loads one student. Returns 1 and sets *out (caller frees with
 * student_free()), 0 when the student does not exist (no hash), -1 on a
 * Redis error (rc->errstr says why). */
int student_load(struct rconn *rc, const char *prefix, const char *id,
                 struct student **out);

/* Loads n students in one pipeline: out[i] is the student of ids[i] or NULL
 * when it does not exist. Returns 0 or -1 on a Redis error (then every
 * out[i] is NULL). The caller frees each with student_free(). */
int student_load_many(struct rconn *rc, const char *prefix,
                      const char *const *ids, size_t n, struct student **out);

/* The two halves of a load, for callers that pipeline other commands
 * around it: queue the reads of one student, then (after the replies of
 * anything queued before them) read them. student_read() returns like
 * student_load(). Ids that fail key_valid_id() must not be queued. */
int student_append_reads(struct rconn *rc, const char *prefix,
                         const char *id);
int student_read(struct rconn *rc, const char *id, struct student **out);
/* The same for a part of the student: everything; all but the
 * opt-outs, which a rule's `when` never reads (the events consumer's
 * loads for the rules: a send reads its student again in its own job);
 * or the hash alone, for the consumer to see whose `when` may hold
 * before it reads their tags (rule_when_may_hold()). A student read
 * without opt-outs counts as opted out of everything
 * (student_opted_out()), so that no send ever goes on that load; one
 * read without tags has tags_unread set until student_read_tags(). */
enum student_part { STUDENT_WHOLE, STUDENT_NO_OPTOUTS, STUDENT_HASH };
int student_append_part(struct rconn *rc, const char *prefix, const char *id,
                        enum student_part part);
int student_read_part(struct rconn *rc, const char *id, enum student_part part,
                      struct student **out);
/* The tags of a student read with STUDENT_HASH, in the same two halves.
 * student_read_tags() returns 0, or -1 on a connection error. */
int student_append_tags(struct rconn *rc, const char *prefix, const char *id);
int student_read_tags(struct rconn *rc, struct student *s);

/* Loads one staff member: 1 found, 0 not found, -1 error. */
int staff_load(struct rconn *rc, const char *prefix, const char *id,
               struct staff **out);

#endif
