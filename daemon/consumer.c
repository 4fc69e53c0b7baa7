/*
 * consumer.c - the events stream consumer (see consumer.h).
 *
 * A batch goes through two stages, each on its own thread and its own
 * Redis connection, so that one batch is being read while the one before
 * is being written (Redis and nudged then work at the same time; see
 * docs/performance.md for what it is worth):
 *   prepare (the caller's thread, consumer_prepare.c): decode, look the
 *      students up (one EXISTS for the batch, or a full load when the
 *      hook wants the event), and in the same round trip read the next
 *      batch;
 *   commit (the writer thread, writer.c, consumer_commit.c): write what
 *      each event leaves
 *      (event_record.c: timeline entries, rejected records) with the
 *      hook's commands for the batch behind them (the rule engine's
 *      leads and run-start scripts: rules/engine_batch.c), then let the
 *      hook finish (the runs that started take their first steps), XACK.
 *      The writer sends one batch's commands before it reads the replies
 *      of the one before, so that Redis always has work from it.
 * At most HANDOFF_DEPTH prepared batches wait between the two. A Redis
 * failure anywhere leaves the batch unacknowledged; after the reconnect
 * the consumer waits for the writer to go idle and reads its own pending
 * entries first, so the batch is handled again (at least once: a timeline
 * entry may be written twice when the daemon dies between the write and
 * the XACK, never lost). Recovery handles its batches on one thread.
 */
#include "daemon/consumer.h"
#include "daemon/consumer_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/reply.h"
#include "core/resp.h"

/* Reasons an event is rejected, as metrics labels; event.c names all but
 * the last. NREJECT (consumer_int.h) counts them. */
static const char *const reject_codes[NREJECT] = {
    "garbage", "no_type", "bad_type", "no_student", "bad_student_id",
    "missing_field", "unknown_student", "usage",
};
_Static_assert(sizeof reject_codes / sizeof reject_codes[0] == NREJECT,
               "reject_codes");

static void register_metrics(struct consumer_metrics *m)
{
    char labels[64];

    for (int k = 0; k <= EV_CUSTOM; k++) {
        snprintf(labels, sizeof labels, "type=\"%s\"",
                 event_kind_name((enum event_kind)k));
        m->handled[k] = metric_counter(
            "nudge_events_total", "Events handled, by type.", labels);
    }
    for (size_t r = 0; r < NREJECT; r++) {
        snprintf(labels, sizeof labels, "reason=\"%s\"", reject_codes[r]);
        m->rejected[r] = metric_counter("nudge_events_rejected_total",
                                        "Events rejected, by reason.", labels);
    }
    rconn_reconnects_metric(); /* listed from the start */
    m->timeline_writes = metric_counter("nudge_timeline_writes_total",
                                        "Timeline entries written.", NULL);
    m->reclaimed = metric_counter(
        "nudge_events_reclaimed_total",
        "Pending events taken over from this or a dead consumer.", NULL);
    m->batches = metric_counter("nudge_event_batches_total",
                                "Batches of events read.", NULL);
}

struct metric *consumer_reject_metric(struct consumer *c, const char *code)
{
    for (size_t r = 0; r < NREJECT; r++)
        if (strcmp(reject_codes[r], code) == 0)
            return c->m.rejected[r];
    return c->m.rejected[0];
}

struct consumer *consumer_new(const struct config *cfg, volatile int *stop)
{
    struct consumer *c = calloc(1, sizeof *c);
    char err[256] = "out of memory";

    if (!c)
        return NULL;
    c->cfg = cfg;
    c->stop = stop;
    if (!(c->rd.rc = rconn_new(cfg, stop)) ||
        !(c->wr.rc = rconn_new(cfg, stop)) ||
        consent_init(&c->consent, cfg, err, sizeof err) < 0) {
        log_warnx("consumer: %s", err); /* the words were checked at load */
        rconn_free(c->rd.rc);
        rconn_free(c->wr.rc);
        free(c);
        return NULL;
    }
    c->optouts = metric_counter("nudge_consent_replies_total",
                                "Replies whose whole text was an opt-out or "
                                "opt-in word, by verdict.",
                                "verdict=\"optout\"");
    c->optins = metric_counter("nudge_consent_replies_total",
                               "Replies whose whole text was an opt-out or "
                               "opt-in word, by verdict.",
                               "verdict=\"optin\"");
    pthread_mutex_init(&c->ho.mu, NULL);
    pthread_cond_init(&c->ho.changed, NULL);
    key_global(c->stream, sizeof c->stream, cfg->redis.prefix, "events");
    key_global(c->rejected, sizeof c->rejected, cfg->redis.prefix,
               "events:rejected");
    if (cfg->daemon.consumer)
        snprintf(c->name, sizeof c->name, "%s", cfg->daemon.consumer);
    else if (gethostname(c->name, sizeof c->name) < 0)
        snprintf(c->name, sizeof c->name, "nudged");
    if (!(c->lease = name_lease_new(cfg, c->name))) {
        consumer_free(c);
        return NULL;
    }
    register_metrics(&c->m);
    return c;
}

void consumer_free(struct consumer *c)
{
    if (!c)
        return;
    rconn_free(c->rd.rc);
    rconn_free(c->wr.rc);
    resp_free(&c->rd.out);
    resp_free(&c->wr.out);
    pthread_mutex_destroy(&c->ho.mu);
    pthread_cond_destroy(&c->ho.changed);
    consent_clear(&c->consent);
    name_lease_free(c->lease);
    free(c);
}

void consumer_set_hook(struct consumer *c, const struct consumer_hook *hook)
{
    c->hook = *hook;
}

int consumer_healthy(const struct consumer *c)
{
    return __atomic_load_n(&c->running, __ATOMIC_RELAXED) && c->rd.rc->c != NULL;
}

/* --- a batch ----------------------------------------------------------- */

/* Frees what the batch's last use left (students, the reply) and keeps
 * its item array. */
void batch_clear(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        student_free(b->items[i].st);
        if (b->items[i].exp)
            reply_free(b->items[i].exp);
    }
    if (b->reply)
        reply_free(b->reply);
    b->reply = NULL;
    b->entries = NULL;
    b->n = 0;
    b->prepared = 0;
    resp_reset(&b->records);
}

void batch_free(struct batch *b)
{
    batch_clear(b);
    resp_free(&b->records);
    free(b->items);
    free(b->hashed);
    free(b->want);
    free(b->hooked);
    free(b);
}

/* Handles entries on the caller's thread alone (recovery). Returns 0, or
 * -1 on a Redis failure (nothing acknowledged). */
static int handle_entries(struct consumer *c, const redisReply *entries)
{
    struct batch *b;
    int ret;

    if (entries->elements == 0)
        return 0;
    if (!(b = calloc(1, sizeof *b)))
        return -1;
    ret = batch_prepare(c, &c->rd, entries, b, NULL) == 0 &&
                  batch_commit(c, &c->rd, b) == 0
              ? 0
              : -1;
    batch_drop_hook(c, b);
    batch_free(b);
    return ret;
}

/* --- reading ----------------------------------------------------------- */

static int ensure_group(struct consumer *c)
{
    redisReply *r = rconn_cmd(c->rd.rc, "XGROUP CREATE %s %s 0 MKSTREAM",
                              c->stream, c->cfg->daemon.group);
    int ok;

    if (!r)
        return -1;
    ok = r->type != REDIS_REPLY_ERROR || strncmp(r->str, "BUSYGROUP", 9) == 0;
    if (!ok)
        log_warnx("XGROUP CREATE %s: %s", c->stream, r->str);
    reply_free(r);
    return ok ? 0 : -1;
}

/* The entries array of an XREADGROUP reply ([[stream, entries]]), or
 * NULL when it timed out empty. */
static const redisReply *stream_entries(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
        return NULL;
    r = r->element[0];
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    return r->element[1];
}

/* Our own pending entries (a previous run of this consumer died with
 * them), oldest first. */
static int drain_own_pending(struct consumer *c)
{
    char last[64] = "0";

    while (!*c->stop) {
        redisReply *r = rconn_cmd(c->rd.rc,
                                  "XREADGROUP GROUP %s %s COUNT %d STREAMS %s %s",
                                  c->cfg->daemon.group, c->name,
                                  c->cfg->daemon.batch, c->stream, last);
        const redisReply *entries;
        int ret;

        if (!r)
            return -1;
        entries = stream_entries(r);
        if (!entries || entries->elements == 0) {
            reply_free(r);
            return 0;
        }
        const redisReply *tail = entries->element[entries->elements - 1];
        snprintf(last, sizeof last, "%s", tail->element[0]->str);
        metric_add(c->m.reclaimed, entries->elements);
        ret = handle_entries(c, entries);
        reply_free(r);
        if (ret < 0)
            return -1;
    }
    return 0;
}

/* Entries other consumers have held longer than claim_idle. */
static int claim_idle(struct consumer *c)
{
    char cursor[64] = "0-0";

    do {
        redisReply *r = rconn_cmd(
            c->rd.rc, "XAUTOCLAIM %s %s %s %lld %s COUNT %d", c->stream,
            c->cfg->daemon.group, c->name,
            (long long)c->cfg->daemon.claim_idle_ms, cursor,
            c->cfg->daemon.batch);
        int ret = 0;

        if (!r)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
            log_warnx("XAUTOCLAIM: %s",
                      r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
            reply_free(r);
            return 0;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        if (r->element[1]->elements > 0) {
            metric_add(c->m.reclaimed, r->element[1]->elements);
            log_info("took over %zu pending events of stopped consumers",
                     r->element[1]->elements);
            ret = handle_entries(c, r->element[1]);
        }
        reply_free(r);
        if (ret < 0)
            return -1;
    } while (strcmp(cursor, "0-0") != 0 && !*c->stop);
    c->next_claim_ms = clock_mono_ms() + c->cfg->daemon.claim_idle_ms;
    return 0;
}

/* Connects, makes the group, and takes back what was left pending. */
static int recover(struct consumer *c)
{
    if (rconn_ensure(c->rd.rc) < 0)
        return -1;
    if (ensure_group(c) < 0 || name_lease_renew(c->lease, c->rd.rc) < 0 ||
        drain_own_pending(c) < 0 || claim_idle(c) < 0) {
        rconn_close(c->rd.rc);
        return -1;
    }
    return 0;
}

/* Reads new events and hands them to the writer. Returns 0, or -1 when
 * Redis failed (on either thread). */
static int read_new(struct consumer *c)
{
    redisReply *r = c->prefetched;
    const redisReply *entries;
    struct batch *b;

    c->prefetched = NULL;
    if (writer_failed(c)) {
        if (r) /* its entries stay pending: recovery reads them */
            reply_free(r);
        return -1;
    }
    if (!r || !stream_entries(r) || stream_entries(r)->elements == 0) {
        if (r) /* the prefetch found nothing new: now wait for it */
            reply_free(r);
        r = rconn_cmd_blocking(
            c->rd.rc, c->cfg->daemon.block_ms,
            "XREADGROUP GROUP %s %s COUNT %d BLOCK %lld STREAMS %s >",
            c->cfg->daemon.group, c->name, c->cfg->daemon.batch,
            (long long)c->cfg->daemon.block_ms, c->stream);
    }
    if (!r)
        return -1;
    if (r->type == REDIS_REPLY_ERROR) {
        /* NOGROUP: someone deleted the stream or the group. */
        log_warnx("XREADGROUP: %s", r->str);
        reply_free(r);
        return -1;
    }
    if (!(entries = stream_entries(r)) || entries->elements == 0) {
        reply_free(r);
        return 0;
    }
    if (!(b = batch_get(c))) {
        reply_free(r);
        return -1;
    }
    b->reply = r;
    if (batch_prepare(c, &c->rd, entries, b, &c->prefetched) < 0) {
        batch_free(b);
        return -1;
    }
    return handoff_push(c, b);
}

/* Entries read ahead but not handled stay pending in the group: a
 * recovery or the next start reads them again. */
static void drop_prefetched(struct consumer *c)
{
    if (c->prefetched) {
        reply_free(c->prefetched);
        c->prefetched = NULL;
    }
}

void consumer_run(struct consumer *c)
{
    int need_recover = 1;

    log_info("reading %s as %s/%s", c->stream, c->cfg->daemon.group, c->name);
    start_writer(c);
    if (!c->writer_started)
        return;
    __atomic_store_n(&c->running, 1, __ATOMIC_RELAXED);
    while (!*c->stop) {
        if (need_recover) {
            /* Nothing may be in flight while we reread our pending
             * entries, or they would be handled twice. */
            drop_prefetched(c);
            handoff_drain(c);
            if (recover(c) < 0) {
                if (!*c->stop) {
                    /* a refusal (LOADING, say) was logged where it came;
                     * a lost connection is said here */
                    if (c->rd.rc->errstr[0])
                        log_warnx("event consumer: %s", c->rd.rc->errstr);
                    clock_sleep_ms(1000, c->stop); /* never spin */
                }
                continue;
            }
            need_recover = 0;
        }
        if (clock_mono_ms() >= c->next_claim_ms) {
            if (handoff_drain(c) || claim_idle(c) < 0) {
                need_recover = 1;
                continue;
            }
        }
        if (name_lease_tick(c->lease, c->rd.rc) < 0) {
            need_recover = 1;
            continue;
        }
        if (read_new(c) < 0) {
            if (c->rd.rc->c && !writer_failed(c))
                clock_sleep_ms(100, c->stop); /* an error reply, not I/O */
            rconn_close(c->rd.rc);
            need_recover = 1;
        }
    }
    drop_prefetched(c); /* its entries stay pending for the next start */
    stop_writer(c);     /* finishes the batches in hand */
    name_lease_release(c->lease, c->rd.rc); /* a restart finds it free */
    __atomic_store_n(&c->running, 0, __ATOMIC_RELAXED);
    log_info("event consumer stopped");
}
