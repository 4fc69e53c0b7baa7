/*
 * stream_trim.c - trims the events stream below what every consumer
 * group has acknowledged (see stream_trim.h).
 */
#include "daemon/stream_trim.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/reply.h"

struct stream_trim {
    const struct config *cfg;
    char stream[KEY_MAX];
    struct metric *trimmed, *length;
    char note[256]; /* the last thing said about a pass that trimmed
                       nothing, so that it is said once, not every pass */
};

/* --- stream ids -------------------------------------------------------- */

static int parse_u64(const char *s, const char **end, uint64_t *v)
{
    uint64_t n = 0;

    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        n = n * 10 + (uint64_t)(*s - '0');
    }
    *v = n;
    *end = s;
    return 0;
}

int stream_id_parse(const char *s, struct stream_id *id)
{
    const char *p;

    if (!s || parse_u64(s, &p, &id->ms) < 0)
        return -1;
    id->seq = 0;
    if (*p == '-' && parse_u64(p + 1, &p, &id->seq) < 0)
        return -1;
    return *p ? -1 : 0;
}

int stream_id_cmp(struct stream_id a, struct stream_id b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

char *stream_id_format(struct stream_id id, char *buf, size_t n)
{
    snprintf(buf, n, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
    return buf;
}

/* The id right after id: the lowest a later entry can have. */
static struct stream_id stream_id_next(struct stream_id id)
{
    if (id.seq < UINT64_MAX)
        id.seq++;
    else if (id.ms < UINT64_MAX) {
        id.ms++;
        id.seq = 0;
    }
    return id;
}

/* --- the cut ----------------------------------------------------------- */

/* The lowest entry the group may still need: its oldest pending entry
 * (read, not acknowledged), or else the first it has not read. */
static struct stream_id safe_point(const struct trim_group *g)
{
    struct stream_id next = stream_id_next(g->last_delivered);

    if (g->has_pending && stream_id_cmp(g->first_pending, next) < 0)
        return g->first_pending;
    return next;
}

int stream_trim_cut(const struct trim_group *groups, size_t n,
                    int64_t now_ms, int64_t span_ms, struct stream_id *cut)
{
    int64_t keep_from = now_ms - (span_ms > 0 ? span_ms : 0);

    if (n == 0)
        return 0;
    cut->ms = keep_from > 0 ? (uint64_t)keep_from : 0;
    cut->seq = 0;
    for (size_t i = 0; i < n; i++) {
        struct stream_id s = safe_point(&groups[i]);
        if (stream_id_cmp(s, *cut) < 0)
            *cut = s;
    }
    return 1;
}

/* --- a pass ------------------------------------------------------------ */

struct stream_trim *stream_trim_new(const struct config *cfg)
{
    struct stream_trim *t = calloc(1, sizeof *t);

    if (!t)
        return NULL;
    t->cfg = cfg;
    key_global(t->stream, sizeof t->stream, cfg->redis.prefix, "events");
    t->trimmed = metric_counter(
        "nudge_events_trimmed_total",
        "Entries of the events stream trimmed: acknowledged by every "
        "consumer group and older than [retention] events.",
        NULL);
    t->length = metric_gauge("nudge_events_stream_length",
                             "Entries in the events stream (XLEN), as the "
                             "last trimming pass saw it.",
                             NULL);
    return t;
}

void stream_trim_free(struct stream_trim *t)
{
    free(t);
}

/* Says why a pass trimmed nothing, once while the reason lasts. */
static void note(struct stream_trim *t, int warn, const char *fmt, ...)
{
    char text[sizeof t->note];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (strcmp(text, t->note) == 0)
        return;
    snprintf(t->note, sizeof t->note, "%s", text);
    if (warn)
        log_warnx("retention: %s", text);
    else
        log_info("retention: %s", text);
}

/* The value of field name in a flat [name, value, ...] reply, or NULL. */
static const redisReply *field(const redisReply *r, const char *name)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(r->element[i]->str, name) == 0)
            return r->element[i + 1];
    return NULL;
}

static int is_text(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING ||
                 r->type == REDIS_REPLY_STATUS);
}

/* Fills each group's last-delivered-id from XINFO GROUPS's reply. 0, or
 * -1 when a group's entry is not as expected (then nothing is trimmed). */
static int read_last_delivered(const redisReply *info, struct trim_group *g)
{
    for (size_t i = 0; i < info->elements; i++) {
        const redisReply *name = field(info->element[i], "name");
        const redisReply *last = field(info->element[i], "last-delivered-id");
        if (!is_text(name) || !is_text(last) ||
            stream_id_parse(last->str, &g[i].last_delivered) < 0)
            return -1;
    }
    return 0;
}

/* Asks XPENDING's summary of every group, in one round trip, and fills
 * their oldest pending ids. 0, -1 when Redis failed, -2 on a reply not
 * as expected. */
static int read_pending(struct stream_trim *t, struct rconn *rc,
                        const redisReply *info, struct trim_group *g)
{
    int ret = 0;

    for (size_t i = 0; i < info->elements; i++) {
        const redisReply *name = field(info->element[i], "name");
        if (rconn_append(rc, "XPENDING %s %b", t->stream, name->str,
                         name->len) < 0)
            return -1;
    }
    for (size_t i = 0; i < info->elements; i++) {
        redisReply *r = rconn_reply(rc);
        if (!r)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 2)
            ret = -2;
        else if ((g[i].has_pending = is_text(r->element[1])) &&
                 stream_id_parse(r->element[1]->str, &g[i].first_pending) < 0)
            ret = -2;
        reply_free(r);
    }
    return ret;
}

/* XTRIM (when there is a cut) and XLEN in one round trip. Returns the
 * entries removed, or -1. */
static long long trim_and_count(struct stream_trim *t, struct rconn *rc,
                                const struct stream_id *cut)
{
    char id[48];
    long long removed = 0;
    redisReply *r;

    if (cut && rconn_append(rc, "XTRIM %s MINID %s", t->stream,
                            stream_id_format(*cut, id, sizeof id)) < 0)
        return -1;
    if (rconn_append(rc, "XLEN %s", t->stream) < 0)
        return -1;
    if (cut) {
        if (!(r = rconn_reply(rc)))
            return -1;
        if (r->type == REDIS_REPLY_INTEGER)
            removed = r->integer;
        else if (r->type == REDIS_REPLY_ERROR)
            note(t, 1, "XTRIM %s: %s", t->stream, r->str);
        reply_free(r);
    }
    if (!(r = rconn_reply(rc)))
        return -1;
    if (r->type == REDIS_REPLY_INTEGER)
        metric_set(t->length, r->integer);
    reply_free(r);
    metric_add(t->trimmed, (uint64_t)removed);
    return removed;
}

/* nudge_events_lag_seconds{group}, for every consumer group (nudged's
 * and the integrators'): the age of the first entry at or after the
 * group's safe point (its oldest pending entry, else the first it has not
 * read), 0 when it is caught up. XINFO GROUPS's own `lag` is not used:
 * after Redis 7.0 reloads its AOF it can stay high forever with nothing
 * pending. One round trip for all groups. 0, or -1 when Redis failed. */
static int measure_lag(struct stream_trim *t, struct rconn *rc,
                       const redisReply *info, const struct trim_group *g)
{
    int64_t now = clock_now_ms();
    char id[48], labels[200];

    for (size_t i = 0; i < info->elements; i++)
        if (rconn_append(rc, "XRANGE %s %s + COUNT 1", t->stream,
                         stream_id_format(safe_point(&g[i]), id,
                                          sizeof id)) < 0)
            return -1;
    for (size_t i = 0; i < info->elements; i++) {
        const redisReply *name = field(info->element[i], "name");
        redisReply *r = rconn_reply(rc);
        struct stream_id first;
        int64_t lag_ms = 0;

        if (!r)
            return -1;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY &&
            r->element[0]->elements >= 1 &&
            is_text(r->element[0]->element[0]) &&
            stream_id_parse(r->element[0]->element[0]->str, &first) == 0)
            lag_ms = now - (int64_t)first.ms;
        reply_free(r);
        snprintf(labels, sizeof labels, "group=\"%.*s\"",
                 (int)(name->len < 150 ? name->len : 150), name->str);
        metric_set(metric_gauge("nudge_events_lag_seconds",
                                "Age of the oldest event a consumer group "
                                "has not acknowledged (pending or not yet "
                                "read), 0 when caught up; from XPENDING "
                                "and last-delivered-id, not XINFO's lag",
                                labels),
                   lag_ms > 0 ? lag_ms / 1000 : 0);
    }
    return 0;
}

/* The cut from the groups XINFO GROUPS listed: 1 with *cut, 0 for none
 * (noted why), -1 when Redis failed. */
static int find_cut(struct stream_trim *t, struct rconn *rc,
                    const redisReply *info, struct stream_id *cut)
{
    struct trim_group *g;
    int ret;

    if (info->elements == 0) {
        note(t, 0, "%s has no consumer group: nothing is trimmed until one "
                   "reads it",
             t->stream);
        return 0;
    }
    if (!(g = calloc(info->elements, sizeof *g)))
        return 0;
    if (read_last_delivered(info, g) < 0) {
        note(t, 1, "XINFO GROUPS %s: unexpected reply; nothing is trimmed",
             t->stream);
        ret = 0;
    } else if ((ret = read_pending(t, rc, info, g)) == -2) {
        note(t, 1, "XPENDING %s: unexpected reply; nothing is trimmed",
             t->stream);
        ret = 0;
    } else if (ret == 0) {
        if (measure_lag(t, rc, info, g) < 0)
            ret = -1;
        else
            ret = stream_trim_cut(g, info->elements, clock_now_ms(),
                                  t->cfg->retention.events_ms, cut);
    }
    free(g);
    return ret;
}

long long stream_trim_pass(struct stream_trim *t, struct rconn *rc)
{
    redisReply *info = rconn_cmd(rc, "XINFO GROUPS %s", t->stream);
    struct stream_id cut;
    int found;

    if (!info)
        return -1;
    if (info->type != REDIS_REPLY_ARRAY) {
        /* "no such key": nothing was ever written; else say it */
        if (info->type == REDIS_REPLY_ERROR && !strstr(info->str, "no such"))
            note(t, 1, "XINFO GROUPS %s: %s", t->stream, info->str);
        reply_free(info);
        return 0;
    }
    found = find_cut(t, rc, info, &cut);
    reply_free(info);
    if (found < 0)
        return -1;
    if (found)
        t->note[0] = '\0'; /* a cut again: the next reason gets said */
    return trim_and_count(t, rc, found ? &cut : NULL);
}
