/*
 * consumer_prepare.c - the prepare stage of a batch of events, on the
 * reading thread (consumer.c runs it): decode each entry, and learn of
 * each student what the hook needs (that it exists, or its record
 * loaded), with the next batch's read in the same round trip.
 */
#include "daemon/consumer_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/reply.h"
#include "core/student_store.h"
#include "rules/report.h"

/*
 * A student the hook wants is loaded whole (pipelined reads). The others
 * are only checked to exist, all with one EXISTS of every key: in the
 * usual case, where all exist, Redis runs one command per batch instead
 * of one per event. When the count falls short, each of those keys is
 * asked again on its own (one more round trip) to find the missing ones.
 *
 * A student the hook wants for a rule's `when` (NEED_HASH) is read in
 * two halves: its hash with the lookups, then its tags only if some
 * `when` may still hold on the hash (a score too low decides "score >=
 * 600 and tag ..."; the hook's tags_wanted() says). With etc/rules,
 * that leaves 60% of the SMEMBERS of a backlog of stage events unsent
 * (docs/performance.md).
 *
 * The report's attribution (rules/report.h) works alike: one ZMSCORE of
 * its index asks which of the batch's students have an exp hash, and
 * only theirs are read. The tags and those hashes share one more round
 * trip, when there are any. Most events are of students no rule started
 * lately, and an HGETALL each was about a seventh of what rules add to
 * Redis's work (docs/performance.md).
 */

static enum student_need wants(const struct consumer *c,
                               const struct event *ev)
{
    return c->hook.wants ? c->hook.wants(c->hook.ctx, ev) : NEED_NONE;
}

/* Opt-outs are read only for the hook's work that reads them; tags,
 * where only a rule's `when` would, only once the hash says it may hold
 * (pick_tags()). */
static enum student_part load_part(const struct consumer *c,
                                   const struct item *it)
{
    if (it->need == NEED_WHOLE)
        return STUDENT_WHOLE;
    if (it->need == NEED_HASH && c->hook.tags_wanted)
        return STUDENT_HASH;
    return STUDENT_NO_OPTOUTS;
}

static int queue_load(struct consumer *c, struct link *l, struct item *it)
{
    it->lookup = LOOKUP_LOAD;
    if (rconn_append_resp(l->rc, &l->out) < 0)
        return -1;
    return student_append_part(l->rc, c->cfg->redis.prefix, it->ev.student,
                               load_part(c, it));
}

/* Appends "EXISTS key" for each item marked LOOKUP_EXISTS, as one command
 * (each = 0) or one per item (each = 1). Returns the keys queued. */
static size_t queue_exists(struct consumer *c, struct link *l,
                           const struct item *items, size_t n, int each)
{
    char key[KEY_MAX];
    size_t count = 0;

    for (size_t i = 0; i < n; i++)
        count += items[i].lookup == LOOKUP_EXISTS;
    if (count == 0)
        return 0;
    if (!each) {
        resp_begin(&l->out, (int)count + 1);
        resp_arg(&l->out, "EXISTS", 6);
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i].lookup != LOOKUP_EXISTS)
            continue;
        key_student(key, sizeof key, c->cfg->redis.prefix,
                    items[i].ev.student, NULL);
        if (each) {
            resp_begin(&l->out, 2);
            resp_arg(&l->out, "EXISTS", 6);
        }
        resp_str(&l->out, key);
    }
    return count;
}

/* Queues the ZMSCORE of the report's index for the items whose events
 * may count in the report. Returns the students asked about. */
static size_t queue_exposed_ask(struct consumer *c, struct link *l,
                                struct item *items, size_t n)
{
    size_t asked = 0;

    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        it->exp_wanted =
            it->accepted && it->ev.student && key_valid_id(it->ev.student) &&
            report_wants_event(c->cfg, &it->ev, c->hook.stage_rank,
                               c->hook.ctx);
        asked += it->exp_wanted;
    }
    if (asked == 0)
        return 0;
    report_exposed_ask(&l->out, c->cfg->redis.prefix, asked);
    for (size_t i = 0; i < n; i++)
        if (items[i].exp_wanted)
            resp_str(&l->out, items[i].ev.student);
    return asked;
}

/* Reads the index's answer: which of the students asked about have an
 * exp hash to read. 0, or -1 on a Redis failure. */
static int read_exposed(struct link *l, struct item *items, size_t n)
{
    redisReply *r = rconn_reply(l->rc);
    int64_t now = clock_now_ms();
    size_t k = 0;

    if (!r)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!items[i].exp_wanted)
            continue;
        /* an error (no ZMSCORE) or a short answer: read them all */
        items[i].exposed =
            r->type != REDIS_REPLY_ARRAY || k >= r->elements ||
            report_exposed(r->element[k], now);
        k++;
    }
    reply_free(r);
    return 0;
}

/* Marks the students read without their tags whose tags must be read:
 * those the hook says a rule's `when` may hold for. */
static void pick_tags(struct consumer *c, struct batch *b)
{
    size_t k = 0;

    for (size_t i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];
        if (it->st && it->st->tags_unread) {
            b->hashed[k].ev = &it->ev;
            b->hashed[k].st = it->st;
            k++;
        }
    }
    if (k == 0)
        return;
    if (c->hook.tags_wanted(c->hook.ctx, b->hashed, k, b->want) < 0)
        memset(b->want, 1, k);
    k = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->items[i].st && b->items[i].st->tags_unread)
            b->items[i].tags_wanted = b->want[k++];
}

/* The second round trip, when there is anything for it: the tags
 * pick_tags() wants, then the exp hashes of the students the report's
 * index holds. 0 or -1. */
static int read_second(struct consumer *c, struct link *l, struct item *items,
                       size_t n)
{
    const char *prefix = c->cfg->redis.prefix;
    size_t queued = 0;

    for (size_t i = 0; i < n; i++) {
        if (items[i].tags_wanted) {
            if (student_append_tags(l->rc, prefix, items[i].ev.student) < 0)
                return -1;
            queued++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i].exposed) {
            report_exp_read(&l->out, prefix, items[i].ev.student);
            queued++;
        }
    }
    if (queued == 0)
        return 0;
    if (rconn_append_resp(l->rc, &l->out) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (items[i].tags_wanted && student_read_tags(l->rc, items[i].st) < 0)
            return -1;
    for (size_t i = 0; i < n; i++)
        if (items[i].exposed && !(items[i].exp = rconn_reply(l->rc)))
            return -1;
    return 0;
}

/* Queues the lookups; *exists gets the number of keys in the one EXISTS
 * (0: none queued), *asked the students asked of the report's index. */
static int queue_lookups(struct consumer *c, struct link *l,
                         struct item *items, size_t n, size_t *exists,
                         size_t *asked)
{
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        if (!it->ev.student || !key_valid_id(it->ev.student))
            continue;
        it->need = it->accepted ? wants(c, &it->ev) : NEED_NONE;
        if (it->need < NEED_HASH)
            it->lookup = LOOKUP_EXISTS;
        else if (queue_load(c, l, it) < 0)
            return -1;
    }
    *exists = queue_exists(c, l, items, n, 0);
    *asked = queue_exposed_ask(c, l, items, n);
    return 0;
}

/* Reads an EXISTS reply: its count, or -1 on a Redis failure. */
static long long read_exists(struct link *l)
{
    redisReply *r = rconn_reply(l->rc);
    long long found;

    if (!r)
        return -1;
    found = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    reply_free(r);
    return found;
}

/* Sends what is queued and reads the lookups' replies (the first ones).
 * *all_exist is set when every key of the one EXISTS was found; when it
 * is not, find_missing() must run once the rest of the round trip's
 * replies are read. */
static int read_lookups(struct consumer *c, struct link *l,
                        struct item *items, size_t n, size_t exists,
                        size_t asked, int *all_exist)
{
    long long found;

    if (rconn_append_resp(l->rc, &l->out) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (items[i].lookup != LOOKUP_LOAD)
            continue;
        int ret = student_read_part(l->rc, items[i].ev.student,
                                    load_part(c, &items[i]), &items[i].st);
        if (ret < 0)
            return -1;
        items[i].known = ret;
    }
    *all_exist = 1;
    if (exists > 0) {
        if ((found = read_exists(l)) < 0)
            return -1;
        *all_exist = found == (long long)exists;
        for (size_t i = 0; i < n; i++)
            if (items[i].lookup == LOOKUP_EXISTS)
                items[i].known = *all_exist;
    }
    return asked > 0 ? read_exposed(l, items, n) : 0;
}

/* Some student of the batch is not in Redis: which ones? */
static int find_missing(struct consumer *c, struct link *l,
                        struct item *items, size_t n)
{
    queue_exists(c, l, items, n, 1);
    if (rconn_append_resp(l->rc, &l->out) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        long long found;
        if (items[i].lookup != LOOKUP_EXISTS)
            continue;
        if ((found = read_exists(l)) < 0)
            return -1;
        items[i].known = found == 1;
    }
    return 0;
}

/* Accepted events of students not in Redis are rejected. */
static void reject_unknown(struct item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (items[i].accepted && !items[i].known) {
            items[i].accepted = 0;
            items[i].rej.code = "unknown_student";
            snprintf(items[i].rej.text, sizeof items[i].rej.text,
                     "no student \"%.64s\" in Redis", items[i].ev.student);
        }
    }
}

/* The next batch's read, without blocking, queued behind the lookups so
 * that Redis goes on from one to the other without waiting for us. */
static void queue_prefetch(struct consumer *c, struct link *l)
{
    resp_begin(&l->out, 9);
    resp_str(&l->out, "XREADGROUP");
    resp_str(&l->out, "GROUP");
    resp_str(&l->out, c->cfg->daemon.group);
    resp_str(&l->out, c->name);
    resp_str(&l->out, "COUNT");
    resp_long(&l->out, c->cfg->daemon.batch);
    resp_str(&l->out, "STREAMS");
    resp_str(&l->out, c->stream);
    resp_str(&l->out, ">");
}

/* Room for n events. 0 or -1. */
static int batch_grow(struct batch *b, size_t n)
{
    struct item *items = realloc(b->items, n * sizeof *items);
    struct event_student *hashed;
    unsigned char *want;

    if (!items)
        return -1;
    b->items = items;
    if (!(hashed = realloc(b->hashed, n * sizeof *hashed)))
        return -1;
    b->hashed = hashed;
    if (!(want = realloc(b->want, n)))
        return -1;
    b->want = want;
    b->cap = n;
    return 0;
}

int batch_prepare(struct consumer *c, struct link *l,
                  const redisReply *entries, struct batch *b,
                  redisReply **prefetch)
{
    size_t n = entries->elements, exists, asked;
    int all_exist;

    if (n > b->cap && batch_grow(b, n) < 0)
        return -1;
    b->entries = entries;
    b->n = n;
    for (size_t i = 0; i < b->n; i++) {
        memset(&b->items[i], 0, offsetof(struct item, ev));
        b->items[i].accepted = event_decode(entries->element[i],
                                            &b->items[i].ev,
                                            &b->items[i].rej) == 0;
    }
    if (queue_lookups(c, l, b->items, n, &exists, &asked) < 0)
        return -1;
    if (prefetch)
        queue_prefetch(c, l);
    if (read_lookups(c, l, b->items, n, exists, asked, &all_exist) < 0)
        return -1;
    if (prefetch && !(*prefetch = rconn_reply(l->rc)))
        return -1;
    if (!all_exist && find_missing(c, l, b->items, n) < 0)
        return -1;
    pick_tags(c, b);
    if (read_second(c, l, b->items, n) < 0)
        return -1;
    reject_unknown(b->items, n);
    return 0;
}
