/*
 * keys.h - the names of nudge's Redis keys (docs/redis.md is the contract).
 *
 * Every key starts with the configured prefix (default "slm:"). A student's
 * keys carry the Redis Cluster hash tag {ID}, so all of one student's keys
 * live in one slot: slm:student:{42}, slm:student:{42}:tags, ...
 */
#ifndef NUDGE_KEYS_H
#define NUDGE_KEYS_H

#include <stddef.h>

/* Long enough for any key nudge makes from a valid id. */
#define KEY_MAX 512

/* The suffixes of a student's keys. */
#define KEY_TAGS "tags"
#define KEY_OPTOUT "optout"
#define KEY_TIMELINE "timeline"
/* Fields nudge keeps in the student's hash: the time (ms) of the latest
 * followup event, which `stop if followed_up` compares with a run's start,
 * and of the last touch (unix seconds), which `time_since_touch` reads. */
#define FIELD_FOLLOWUP_AT "followup_at"
#define FIELD_LAST_TOUCH_AT "last_touch_at"

/* True when id can name a student or staff member: 1 to 128 bytes, no
 * braces (they would break the hash tag), no spaces or control bytes. */
int key_valid_id(const char *id);

/* prefix + "student:{" id "}" [":" suffix]. suffix may be NULL. Returns
 * the length, or -1 when it does not fit in n. */
int key_student(char *buf, size_t n, const char *prefix, const char *id,
                const char *suffix);
/* prefix + "staff:" id */
int key_staff(char *buf, size_t n, const char *prefix, const char *id);
/* prefix + "team:" name */
int key_team(char *buf, size_t n, const char *prefix, const char *name);
/* prefix + name, for the shared keys: "events", "events:rejected", "q:..." */
/* The phone index: prefix + "phone:" + an E.164 number, whose value is
 * the student id (docs/redis.md). */
int key_phone(char *buf, size_t n, const char *prefix, const char *e164);
int key_global(char *buf, size_t n, const char *prefix, const char *name);

#endif
