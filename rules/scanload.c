/*
 * scanload.c - chunked, overlapped loads of many students (see
 * scanload.h).
 */
#include "rules/scanload.h"

#include <stdio.h>
#include <string.h>

#include "core/keys.h"
#include "core/reply.h"
#include "core/student_store.h"

#define CHUNK 100

/* Queues the reads of ids[from, to). 0 or -1. */
static int queue_reads(struct rconn *rc, const char *prefix,
                       const char *const *ids, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (key_valid_id(ids[i]) &&
            student_append_reads(rc, prefix, ids[i]) < 0)
            return -1;
    return 0;
}

/* Reads the replies of ids[from, to) and hands each student to fn.
 * After an error or a stop the rest of the replies are still read, so
 * the connection stays in step. */
static int read_chunk(struct rconn *rc, const char *const *ids, size_t from,
                      size_t to, int (*fn)(void *, struct student **),
                      void *ctx, int status)
{
    for (size_t i = from; i < to; i++) {
        struct student *st = NULL;
        int got;
        if (!key_valid_id(ids[i]))
            continue;
        if ((got = student_read(rc, ids[i], &st)) < 0)
            return -1;
        if (got == 1 && status == 0)
            status = fn(ctx, &st);
        student_free(st);
    }
    return status;
}

int students_each(struct rconn *rc, const char *prefix, const char *const *ids,
                  size_t n, int (*fn)(void *ctx, struct student **st),
                  void *ctx)
{
    size_t cur = 0, end = n < CHUNK ? n : CHUNK;
    int status = 0;

    if (n == 0)
        return 0;
    if (queue_reads(rc, prefix, ids, 0, end) < 0)
        return -1;
    while (cur < n) {
        size_t next_end = end + CHUNK < n ? end + CHUNK : n;
        if (end < n && queue_reads(rc, prefix, ids, end, next_end) < 0)
            return -1;
        status = read_chunk(rc, ids, cur, end, fn, ctx, status);
        if (status < 0) {
            rconn_close(rc); /* replies of the next chunk are pending */
            return -1;
        }
        cur = end;
        end = next_end;
    }
    return status;
}

/* The student id of a key prefix + "student:{ID}", or NULL. */
static const char *id_of_key(const char *key, size_t plen, char *buf, size_t n)
{
    const char *open = key + plen + strlen("student:{");
    size_t len;

    if (strlen(key) < plen + strlen("student:{"))
        return NULL;
    len = strlen(open);
    if (len < 2 || open[len - 1] != '}' || len > n)
        return NULL;
    memcpy(buf, open, len - 1);
    buf[len - 1] = 0;
    return key_valid_id(buf) ? buf : NULL;
}

int students_scan_page(struct rconn *rc, const char *prefix,
                       char cursor[STUDENTS_CURSOR_MAX],
                       int (*fn)(void *ctx, const char *id), void *ctx)
{
    char pattern[KEY_MAX], idbuf[160];
    size_t plen = strlen(prefix);
    redisReply *rep;
    int status = 0;

    snprintf(pattern, sizeof pattern, "%sstudent:{*}", prefix);
    rep = rconn_cmd(rc, "SCAN %s MATCH %s COUNT 1000 TYPE hash", cursor,
                    pattern);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[0]->type != REDIS_REPLY_STRING) {
        if (rep && rep->type == REDIS_REPLY_ERROR)
            snprintf(rc->errstr, sizeof rc->errstr, "SCAN: %s", rep->str);
        else if (rep)
            snprintf(rc->errstr, sizeof rc->errstr, "SCAN: unexpected reply");
        if (rep)
            reply_free(rep);
        return -1;
    }
    snprintf(cursor, STUDENTS_CURSOR_MAX, "%s", rep->element[0]->str);
    for (size_t i = 0; i < rep->element[1]->elements && status == 0; i++) {
        const char *id = id_of_key(rep->element[1]->element[i]->str, plen,
                                   idbuf, sizeof idbuf);
        if (id)
            status = fn(ctx, id);
    }
    reply_free(rep);
    return status;
}

static int add_id(void *ctx, const char *id)
{
    return strset_add(ctx, id);
}

int students_list_all(struct rconn *rc, const char *prefix,
                      struct strset *ids)
{
    char cursor[STUDENTS_CURSOR_MAX] = "0";

    do {
        if (students_scan_page(rc, prefix, cursor, add_id, ids) != 0)
            return -1;
    } while (strcmp(cursor, "0") != 0);
    return 0;
}
