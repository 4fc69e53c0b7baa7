/*
 * student_store.c - a student's hash (HGETALL), tags and opt-outs
 * (SMEMBERS), all or a part of them, pipelined; the tags of a student
 * read by its hash alone, later.
 */
#include "core/student_store.h"

#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "core/reply.h"

/* Appends "CMD key" for the student's key with suffix (NULL: the hash). */
static int append_key_cmd(struct rconn *rc, const char *cmd, const char *prefix,
                          const char *id, const char *suffix)
{
    char key[KEY_MAX];
    const char *argv[] = {cmd, key};

    if (key_student(key, sizeof key, prefix, id, suffix) < 0)
        return -1;
    return rconn_appendargv(rc, 2, argv, NULL);
}

/* The replies student_read_part() reads for part. */
static int part_replies(enum student_part part)
{
    return part == STUDENT_WHOLE ? 3 : part == STUDENT_NO_OPTOUTS ? 2 : 1;
}

int student_append_part(struct rconn *rc, const char *prefix, const char *id,
                        enum student_part part)
{
    int nrep = part_replies(part);

    if (append_key_cmd(rc, "HGETALL", prefix, id, NULL) < 0)
        return -1;
    if (nrep > 1 && append_key_cmd(rc, "SMEMBERS", prefix, id, KEY_TAGS) < 0)
        return -1;
    if (nrep > 2 && append_key_cmd(rc, "SMEMBERS", prefix, id, KEY_OPTOUT) < 0)
        return -1;
    return 0;
}

int student_append_tags(struct rconn *rc, const char *prefix, const char *id)
{
    return append_key_cmd(rc, "SMEMBERS", prefix, id, KEY_TAGS);
}

int student_append_reads(struct rconn *rc, const char *prefix, const char *id)
{
    return student_append_part(rc, prefix, id, STUDENT_WHOLE);
}

static int fill_attrs(struct attrs *a, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return -1;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (attrs_set(a, r->element[i]->str, r->element[i + 1]->str) < 0)
            return -1;
    return 0;
}

static int fill_set(struct strset *s, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return -1;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING &&
            strset_add(s, r->element[i]->str) < 0)
            return -1;
    return 0;
}

/* Reads the replies of one student (three, or two without the
 * opt-outs). Returns 1 (found), 0 (no hash), -1 (connection error: the
 * pipeline is gone). A wrong-type key reads as a student without that
 * part, never a crash. */
int student_read_part(struct rconn *rc, const char *id, enum student_part part,
                      struct student **out)
{
    int nrep = part_replies(part), found = -1;
    redisReply *r[3] = {0};

    *out = NULL;
    for (int i = 0; i < nrep; i++)
        if (!(r[i] = rconn_reply(rc)))
            goto done;
    found = r[0]->type == REDIS_REPLY_ARRAY && r[0]->elements > 0;
    if (found) {
        struct student *s = student_new(id);
        if (!s || fill_attrs(&s->attrs, r[0]) < 0) {
            student_free(s);
            found = -1;
            goto done;
        }
        if (r[1])
            fill_set(&s->tags, r[1]);
        if (r[2])
            fill_set(&s->optouts, r[2]);
        s->optouts_unread = part != STUDENT_WHOLE;
        s->tags_unread = part == STUDENT_HASH;
        student_seal(s);
        *out = s;
    }
done:
    for (int i = 0; i < nrep; i++)
        if (r[i])
            reply_free(r[i]);
    return found;
}

int student_read_tags(struct rconn *rc, struct student *s)
{
    redisReply *r = rconn_reply(rc);

    if (!r)
        return -1;
    fill_set(&s->tags, r);
    strset_sort(&s->tags);
    s->tags_unread = 0;
    reply_free(r);
    return 0;
}

int student_read(struct rconn *rc, const char *id, struct student **out)
{
    return student_read_part(rc, id, STUDENT_WHOLE, out);
}

int student_load(struct rconn *rc, const char *prefix, const char *id,
                 struct student **out)
{
    *out = NULL;
    if (!key_valid_id(id))
        return 0;
    if (student_append_reads(rc, prefix, id) < 0)
        return -1;
    return student_read(rc, id, out);
}

int student_load_many(struct rconn *rc, const char *prefix,
                      const char *const *ids, size_t n, struct student **out)
{
    size_t i;

    memset(out, 0, n * sizeof *out);
    for (i = 0; i < n; i++)
        if (key_valid_id(ids[i]) && student_append_reads(rc, prefix, ids[i]) < 0)
            return -1;
    for (i = 0; i < n; i++) {
        if (!key_valid_id(ids[i]))
            continue;
        if (student_read(rc, ids[i], &out[i]) < 0)
            goto fail;
    }
    return 0;
fail:
    for (size_t j = 0; j < n; j++) {
        student_free(out[j]);
        out[j] = NULL;
    }
    rconn_close(rc); /* replies may be left in the pipeline */
    return -1;
}

int staff_load(struct rconn *rc, const char *prefix, const char *id,
               struct staff **out)
{
    char key[KEY_MAX];
    redisReply *r;
    int found;

    *out = NULL;
    if (!key_valid_id(id) || key_staff(key, sizeof key, prefix, id) < 0)
        return 0;
    if (!(r = rconn_cmd(rc, "HGETALL %s", key)))
        return -1;
    found = r->type == REDIS_REPLY_ARRAY && r->elements > 0;
    if (found) {
        struct staff *s = staff_new(id);
        if (!s || fill_attrs(&s->attrs, r) < 0) {
            staff_free(s);
            found = -1;
        } else {
            attrs_sort(&s->attrs);
            *out = s;
        }
    }
    reply_free(r);
    return found;
}
