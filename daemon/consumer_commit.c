/*
 * consumer_commit.c - the commit stage of a batch of events, on the
 * writer thread (writer.c runs it) or, in recovery, on the reading one:
 * write what each event leaves (event_record.c), hand the batch to the
 * hook (the rule engine), acknowledge it.
 *
 * Committing a batch is done in parts, so that the writer thread can send
 * one batch's commands before it reads the replies of the one before:
 * Redis then always has the writer's next commands while the writer
 * reads and prepares (docs/performance.md). commit_prepare() builds the
 * batch's writes on their own (the writer builds the next batch's while
 * Redis runs this one's); commit_send() queues them, the hook's commands
 * behind them or, when the hook has nothing in the batch, the XACK (Redis
 * runs one connection's commands in order, so it still comes after
 * them), and sends it all. For a batch with hooks, commit_hooks() then
 * reads the writes' replies, lets the hook finish (it may talk to Redis
 * on the link, so nothing else may be in flight there) and sends the
 * XACK. commit_finish() reads what is left (the XACK's reply, and the
 * writes' when there were no hooks): until then the writer may send the
 * next batch. Each returns 0, or -1 on a Redis failure (then the batch
 * may be only partly written, and is not acknowledged).
 */
#include "daemon/consumer_int.h"

#include <stdlib.h>

#include "core/clock.h"
#include "core/log.h"
#include "daemon/event_record.h"
#include "rules/report.h"

/* --- record ----------------------------------------------------------- */

/* Queues the writes of one item (now_ms: the time of an event without a
 * stream id): adds the commands queued to *replies and the timeline
 * entries among them to *entries. Returns 0 or -1. */
static int queue_record(struct consumer *c, struct resp *out,
                        const struct item *it, int64_t now_ms, int *replies,
                        int *entries)
{
    enum consent_verdict v;

    if (!it->accepted)
        return event_record_rejected(out, c->cfg, c->rejected, &it->ev,
                                     &it->rej, it->known, replies, entries);
    if (event_record_accepted(out, c->cfg, &it->ev, replies, entries) < 0 ||
        event_record_consent(out, c->cfg, &c->consent, &it->ev, &v,
                             replies, entries) < 0)
        return -1;
    *replies +=
        report_attribute(out, c->cfg, it->exp, &it->ev, v == CONSENT_OPTOUT,
                         c->hook.stage_rank, c->hook.ctx, now_ms);
    if (v != CONSENT_NONE) {
        metric_inc(v == CONSENT_OPTOUT ? c->optouts : c->optins);
        log_info("student %s %s by reply on %s", it->ev.student,
                 v == CONSENT_OPTOUT ? "opted out" : "opted in",
                 event_get(&it->ev, "channel"));
    }
    return 0;
}

/* Queues the writes of every item. Returns the number of replies they
 * will have, or -1; *entries gets the timeline entries among them. */
static int queue_records(struct consumer *c, struct resp *out,
                         const struct item *items, size_t n, int *entries)
{
    int64_t now_ms = clock_now_ms(); /* one clock reading for the batch */
    int replies = 0;

    *entries = 0;
    for (size_t i = 0; i < n; i++)
        if (queue_record(c, out, &items[i], now_ms, &replies, entries) < 0)
            return -1;
    return replies;
}

/* The hook gets the accepted events of known students it wants (a
 * known student it wanted loaded is: known comes from the load). */
static int for_hook(const struct consumer *c, const struct item *it)
{
    return c->hook.send && it->accepted && it->known &&
           it->need != NEED_NONE;
}

/* Lists in b->hooked what the hook gets. 0, or -1 on no memory. */
static int list_hooked(struct consumer *c, struct batch *b)
{
    b->nhooked = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (!for_hook(c, &b->items[i]))
            continue;
        if (b->nhooked == b->hooked_cap) {
            size_t cap = b->hooked_cap ? 2 * b->hooked_cap : 64;
            struct event_student *grown =
                realloc(b->hooked, cap * sizeof *grown);
            if (!grown)
                return -1;
            b->hooked = grown;
            b->hooked_cap = cap;
        }
        b->hooked[b->nhooked].ev = &b->items[i].ev;
        b->hooked[b->nhooked].st = b->items[i].st;
        b->nhooked++;
    }
    return 0;
}

/* Queues the hook's commands for b behind its writes (already on l). */
static int send_hooks(struct consumer *c, struct link *l, struct batch *b)
{
    return c->hook.send(c->hook.ctx, l->rc, b->hooked, b->nhooked,
                        &b->hook_state);
}

static int finish_hooks(struct consumer *c, struct link *l, struct batch *b)
{
    void *state = b->hook_state;

    b->hook_state = NULL;
    if (c->hook.finish(c->hook.ctx, state) < 0)
        return -1;
    return c->hook.flush ? c->hook.flush(c->hook.ctx, l->rc) : 0;
}

void batch_drop_hook(struct consumer *c, struct batch *b)
{
    if (b->hook_state && c->hook.drop)
        c->hook.drop(c->hook.ctx, b->hook_state);
    b->hook_state = NULL;
}

/* --- acknowledge ------------------------------------------------------ */

/* Queues the XACK of the batch's entries. Returns the replies it will
 * have (0 when there is nothing to acknowledge, else 1). */
static int queue_ack(struct consumer *c, struct resp *out,
                     const redisReply *entries)
{
    size_t n = 0;

    for (size_t i = 0; i < entries->elements; i++)
        n += entries->element[i]->type == REDIS_REPLY_ARRAY &&
             entries->element[i]->elements >= 1 &&
             entries->element[i]->element[0]->type == REDIS_REPLY_STRING;
    if (n == 0)
        return 0;
    resp_begin(out, (int)n + 3);
    resp_arg(out, "XACK", 4);
    resp_str(out, c->stream);
    resp_str(out, c->cfg->daemon.group);
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 &&
            e->element[0]->type == REDIS_REPLY_STRING)
            resp_arg(out, e->element[0]->str, e->element[0]->len);
    }
    return 1;
}

static void log_rejected(const struct item *it)
{
    log_warnx("event %s rejected (%s): %s", it->ev.id[0] ? it->ev.id : "?",
              it->rej.code, it->rej.text);
}

static void count_batch(struct consumer *c, const struct item *items,
                        size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (items[i].accepted) {
            metric_inc(c->m.handled[items[i].ev.kind]);
        } else {
            log_rejected(&items[i]);
            metric_inc(consumer_reject_metric(c, items[i].rej.code));
        }
    }
}

int commit_prepare(struct consumer *c, struct batch *b)
{
    if (b->prepared)
        return 0;
    b->replies = queue_records(c, &b->records, b->items, b->n,
                               &b->entries_written);
    if (b->replies < 0 || list_hooked(c, b) < 0) {
        resp_reset(&b->records);
        return -1;
    }
    b->hooks = b->nhooked > 0;
    if (!b->hooks)
        b->replies += queue_ack(c, &b->records, b->entries);
    b->prepared = 1;
    return 0;
}

int commit_send(struct consumer *c, struct link *l, struct batch *b)
{
    if (commit_prepare(c, b) < 0 ||
        rconn_append_resp(l->rc, &b->records) < 0 ||
        (b->hooks && send_hooks(c, l, b) < 0))
        return -1;
    return rconn_send(l->rc);
}

int commit_hooks(struct consumer *c, struct link *l, struct batch *b)
{
    if (rconn_discard(l->rc, b->replies) < 0 || finish_hooks(c, l, b) < 0)
        return -1;
    b->hooks = 0;
    b->replies = queue_ack(c, &l->out, b->entries);
    if (rconn_append_resp(l->rc, &l->out) < 0)
        return -1;
    return rconn_send(l->rc);
}

int commit_finish(struct consumer *c, struct link *l, struct batch *b)
{
    if (rconn_discard(l->rc, b->replies) < 0)
        return -1;
    metric_add(c->m.timeline_writes, (uint64_t)b->entries_written);
    count_batch(c, b->items, b->n);
    metric_inc(c->m.batches);
    return 0;
}

int batch_commit(struct consumer *c, struct link *l, struct batch *b)
{
    return commit_send(c, l, b) == 0 &&
                   (!b->hooks || commit_hooks(c, l, b) == 0) &&
                   commit_finish(c, l, b) == 0
               ? 0
               : -1;
}
