/*
 * consumer.c - the events stream consumer (see consumer.h).
 *
 * A batch goes through two stages, each on its own thread and its own
 * Redis connection, so that one batch is being read while the one before
 * is being written (Redis and nudged then work at the same time; see
 * docs/performance.md for what it is worth):
 *   prepare (the caller's thread): decode, look the students up (one
 *      EXISTS for the batch, or a full load when the hook wants the
 *      event), and in the same round trip read the next batch;
 *   commit (the writer thread, writer.c): write what each event leaves
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
#include "core/resp.h"
#include "core/student_store.h"
#include "daemon/event_record.h"
#include "rules/report.h"

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

static struct metric *reject_metric(struct consumer *c, const char *code)
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

/* --- prepare: who are these students? --------------------------------- */

/*
 * A student the hook wants is loaded whole (pipelined reads). The others
 * are only checked to exist, all with one EXISTS of every key: in the
 * usual case, where all exist, Redis runs one command per batch instead
 * of one per event. When the count falls short, each of those keys is
 * asked again on its own (one more round trip) to find the missing ones.
 */

static enum student_need wants(const struct consumer *c,
                               const struct event *ev)
{
    return c->hook.wants ? c->hook.wants(c->hook.ctx, ev) : NEED_NONE;
}

/* Opt-outs are read only for the hook's work that reads them. */
static enum student_part load_part(const struct item *it)
{
    return it->need == NEED_WHOLE ? STUDENT_WHOLE : STUDENT_NO_OPTOUTS;
}

static int queue_load(struct consumer *c, struct link *l, struct item *it)
{
    it->lookup = LOOKUP_LOAD;
    if (rconn_append_resp(l->rc, &l->out) < 0)
        return -1;
    return student_append_part(l->rc, c->cfg->redis.prefix, it->ev.student,
                               load_part(it));
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

/* Queues the lookups; *exists gets the number of keys in the one EXISTS
 * (0: none queued). */
static int queue_lookups(struct consumer *c, struct link *l,
                         struct item *items, size_t n, size_t *exists)
{
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        if (!it->ev.student || !key_valid_id(it->ev.student))
            continue;
        it->need = it->accepted ? wants(c, &it->ev) : NEED_NONE;
        if (it->need < NEED_LOADED)
            it->lookup = LOOKUP_EXISTS;
        else if (queue_load(c, l, it) < 0)
            return -1;
    }
    *exists = queue_exists(c, l, items, n, 0);
    /* the report's attribution (rules/report.h), read after the EXISTS */
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        if (it->accepted && it->ev.student && key_valid_id(it->ev.student) &&
            report_wants_event(c->cfg, &it->ev, c->hook.stage_rank,
                               c->hook.ctx)) {
            it->exp_wanted = 1;
            report_exp_read(&l->out, c->cfg->redis.prefix, it->ev.student);
        }
    }
    return 0;
}

/* Reads the exp hashes queue_lookups() asked for. 0 or -1. */
static int read_exps(struct link *l, struct item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].exp_wanted && !(items[i].exp = rconn_reply(l->rc)))
            return -1;
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
    freeReplyObject(r);
    return found;
}

/* Sends what is queued and reads the lookups' replies (the first ones).
 * *all_exist is set when every key of the one EXISTS was found; when it
 * is not, find_missing() must run once the rest of the round trip's
 * replies are read. */
static int read_lookups(struct consumer *c, struct link *l,
                        struct item *items, size_t n, size_t exists,
                        int *all_exist)
{
    long long found;

    if (rconn_append_resp(l->rc, &l->out) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (items[i].lookup != LOOKUP_LOAD)
            continue;
        int ret = student_read_part(l->rc, items[i].ev.student,
                                    load_part(&items[i]), &items[i].st);
        if (ret < 0)
            return -1;
        items[i].known = ret;
    }
    *all_exist = 1;
    if (exists == 0)
        return read_exps(l, items, n);
    if ((found = read_exists(l)) < 0)
        return -1;
    *all_exist = found == (long long)exists;
    for (size_t i = 0; i < n; i++)
        if (items[i].lookup == LOOKUP_EXISTS)
            items[i].known = *all_exist;
    return read_exps(l, items, n);
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

/* --- commit: record ---------------------------------------------------- */

/* Queues the writes of one item: adds the commands queued to *replies
 * and the timeline entries among them to *entries. Returns 0 or -1. */
static int queue_record(struct consumer *c, struct link *l,
                        const struct item *it, int *replies, int *entries)
{
    enum consent_verdict v;

    if (!it->accepted)
        return event_record_rejected(&l->out, c->cfg, c->rejected, &it->ev,
                                     &it->rej, it->known, replies, entries);
    if (event_record_accepted(&l->out, c->cfg, &it->ev, replies, entries) < 0 ||
        event_record_consent(&l->out, c->cfg, &c->consent, &it->ev, &v,
                             replies, entries) < 0)
        return -1;
    *replies +=
        report_attribute(&l->out, c->cfg, it->exp, &it->ev, v == CONSENT_OPTOUT,
                         c->hook.stage_rank, c->hook.ctx, clock_now_ms());
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
static int queue_records(struct consumer *c, struct link *l,
                         const struct item *items, size_t n, int *entries)
{
    int replies = 0;

    *entries = 0;
    for (size_t i = 0; i < n; i++)
        if (queue_record(c, l, &items[i], &replies, entries) < 0)
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

/* --- commit: acknowledge ----------------------------------------------- */

/* Queues the XACK of the batch's entries. Returns the replies it will
 * have (0 when there is nothing to acknowledge, else 1). */
static int queue_ack(struct consumer *c, struct link *l,
                     const redisReply *entries)
{
    size_t n = 0;

    for (size_t i = 0; i < entries->elements; i++)
        n += entries->element[i]->type == REDIS_REPLY_ARRAY &&
             entries->element[i]->elements >= 1 &&
             entries->element[i]->element[0]->type == REDIS_REPLY_STRING;
    if (n == 0)
        return 0;
    resp_begin(&l->out, (int)n + 3);
    resp_arg(&l->out, "XACK", 4);
    resp_str(&l->out, c->stream);
    resp_str(&l->out, c->cfg->daemon.group);
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 &&
            e->element[0]->type == REDIS_REPLY_STRING)
            resp_arg(&l->out, e->element[0]->str, e->element[0]->len);
    }
    return 1;
}

/* --- a batch ----------------------------------------------------------- */

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
            metric_inc(reject_metric(c, items[i].rej.code));
        }
    }
}

/* Frees what the batch's last use left (students, the reply) and keeps
 * its item array. */
void batch_clear(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        student_free(b->items[i].st);
        if (b->items[i].exp)
            freeReplyObject(b->items[i].exp);
    }
    if (b->reply)
        freeReplyObject(b->reply);
    b->reply = NULL;
    b->entries = NULL;
    b->n = 0;
}

void batch_free(struct batch *b)
{
    batch_clear(b);
    free(b->items);
    free(b->hooked);
    free(b);
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

/* Decodes the entries and looks their students up on l. With prefetch,
 * also reads the next batch in the same round trip: *prefetch gets the
 * reply (the caller's to free). */
static int batch_prepare(struct consumer *c, struct link *l,
                         const redisReply *entries, struct batch *b,
                         redisReply **prefetch)
{
    size_t n = entries->elements, exists;
    int all_exist;

    if (n > b->cap) {
        struct item *items = realloc(b->items, n * sizeof *items);
        if (!items)
            return -1;
        b->items = items;
        b->cap = n;
    }
    b->entries = entries;
    b->n = n;
    memset(b->items, 0, n * sizeof *b->items);
    for (size_t i = 0; i < b->n; i++)
        b->items[i].accepted = event_decode(entries->element[i],
                                            &b->items[i].ev,
                                            &b->items[i].rej) == 0;
    if (queue_lookups(c, l, b->items, n, &exists) < 0)
        return -1;
    if (prefetch)
        queue_prefetch(c, l);
    if (read_lookups(c, l, b->items, n, exists, &all_exist) < 0)
        return -1;
    if (prefetch && !(*prefetch = rconn_reply(l->rc)))
        return -1;
    if (!all_exist && find_missing(c, l, b->items, n) < 0)
        return -1;
    reject_unknown(b->items, n);
    return 0;
}

/*
 * Committing a batch is done in parts, so that the writer thread can send
 * one batch's commands before it reads the replies of the one before:
 * Redis then always has the writer's next commands while the writer
 * reads and prepares (docs/performance.md). commit_send() queues the
 * writes, the hook's commands behind them or, when the hook has nothing
 * in the batch, the XACK (Redis runs one connection's commands in order,
 * so it still comes after them), and sends it all. For a batch with
 * hooks, commit_hooks() then reads the writes' replies, lets the hook
 * finish (it may talk to Redis on the link, so nothing else may be in
 * flight there) and sends the XACK. commit_finish() reads what is left
 * (the XACK's reply, and the writes' when there were no hooks): until
 * then the writer may send the next batch. Each returns 0, or -1 on a
 * Redis failure (then the batch may be only partly written, and is not
 * acknowledged).
 */
int commit_send(struct consumer *c, struct link *l, struct batch *b)
{
    b->replies = queue_records(c, l, b->items, b->n, &b->entries_written);
    if (b->replies < 0 || list_hooked(c, b) < 0)
        return -1;
    b->hooks = b->nhooked > 0;
    if (!b->hooks)
        b->replies += queue_ack(c, l, b->entries);
    if (rconn_append_resp(l->rc, &l->out) < 0 ||
        (b->hooks && send_hooks(c, l, b) < 0))
        return -1;
    return rconn_send(l->rc);
}

int commit_hooks(struct consumer *c, struct link *l, struct batch *b)
{
    if (rconn_discard(l->rc, b->replies) < 0 || finish_hooks(c, l, b) < 0)
        return -1;
    b->hooks = 0;
    b->replies = queue_ack(c, l, b->entries);
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

/* Records, runs the hooks and acknowledges, on one link. */
static int batch_commit(struct consumer *c, struct link *l, struct batch *b)
{
    return commit_send(c, l, b) == 0 &&
                   (!b->hooks || commit_hooks(c, l, b) == 0) &&
                   commit_finish(c, l, b) == 0
               ? 0
               : -1;
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
    freeReplyObject(r);
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
            freeReplyObject(r);
            return 0;
        }
        const redisReply *tail = entries->element[entries->elements - 1];
        snprintf(last, sizeof last, "%s", tail->element[0]->str);
        metric_add(c->m.reclaimed, entries->elements);
        ret = handle_entries(c, entries);
        freeReplyObject(r);
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
            freeReplyObject(r);
            return 0;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        if (r->element[1]->elements > 0) {
            metric_add(c->m.reclaimed, r->element[1]->elements);
            log_info("took over %zu pending events of stopped consumers",
                     r->element[1]->elements);
            ret = handle_entries(c, r->element[1]);
        }
        freeReplyObject(r);
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
            freeReplyObject(r);
        return -1;
    }
    if (!r || !stream_entries(r) || stream_entries(r)->elements == 0) {
        if (r) /* the prefetch found nothing new: now wait for it */
            freeReplyObject(r);
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
        freeReplyObject(r);
        return -1;
    }
    if (!(entries = stream_entries(r)) || entries->elements == 0) {
        freeReplyObject(r);
        return 0;
    }
    if (!(b = batch_get(c))) {
        freeReplyObject(r);
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
        freeReplyObject(c->prefetched);
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
