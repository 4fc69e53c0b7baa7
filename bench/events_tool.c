/*
 * events_tool.c - the event pipeline benchmark's helper (bench_events.sh).
 * Each consumer reads the whole backlog in a consumer group of its own,
 * so all of them face the same events on the same Redis.
 *
 *   events_tool fill PORT EVENTS STUDENTS   students (each with a timeline
 *                                           entry), then a backlog of events
 *                                           (pipelined XADD)
 *   events_tool limit PORT EVENTS BATCH     the limit: exactly the Redis
 *       commands nudged must issue per event, with no work between them,
 *       hand-pipelined so Redis never waits for the client. Per batch:
 *       XREADGROUP COUNT BATCH; one EXISTS of the batch's students; per
 *       event the timeline entry nudged writes (XADD ... MAXLEN ~ 1000,
 *       the same fields, so the same size); per followup the HSET of
 *       followup_at and last_touch_at; the XACK, sent with the next read.
 *   events_tool bare PORT EVENTS BATCH      a second reference: only the
 *       XREADGROUP and the XACK, pipelined the same way.
 *   events_tool wait PORT EVENTS GROUP      waits until GROUP has read and
 *                                           acknowledged EVENTS (nudged
 *                                           reading it)
 * limit, bare and wait print the seconds from the first read until
 * EVENTS are read and acknowledged.
 *
 * The pipeline of limit and bare keeps two reads in flight, as nudged
 * keeps a batch in flight: batch N's writes and XACK go out with the read
 * of batch N+2 before batch N+1's reply is taken, so Redis always has the
 * next commands while the client builds the following ones.
 *
 * It talks to the benchmark's own throwaway Redis only.
 */
#include <hiredis/hiredis.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/keys.h"
#include "core/resp.h"
#include "core/timeline.h"

#define STREAM "slm:events"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static redisContext *connect_port(int port)
{
    redisContext *c = redisConnect("127.0.0.1", port);

    if (!c || c->err) {
        fprintf(stderr, "connect: %s\n", c ? c->errstr : "oom");
        exit(1);
    }
    return c;
}

/* The next reply, the caller's to free; a failure or an error reply ends
 * the benchmark (its figures would be wrong). */
static redisReply *next_reply(redisContext *c)
{
    redisReply *r;

    if (redisGetReply(c, (void **)&r) != REDIS_OK) {
        fprintf(stderr, "redis: %s\n", c->errstr);
        exit(1);
    }
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "redis: %s\n", r->str);
        exit(1);
    }
    return r;
}

static void drain_replies(redisContext *c, int n)
{
    for (int i = 0; i < n; i++)
        freeReplyObject(next_reply(c));
}

static int fill(int port, long events, long students)
{
    redisContext *c = connect_port(port);
    char id[32], note[64];
    int queued = 0;

    for (long i = 0; i < students; i++) {
        redisAppendCommand(c,
                           "HSET slm:student:{%ld} name 学生%ld phone "
                           "+86138%08ld stage lead score %ld",
                           i, i, i, 450 + i % 250);
        /* a timeline already, as a school's students have: no consumer
         * pays for creating the streams, so their order does not matter */
        redisAppendCommand(c,
                           "XADD slm:student:{%ld}:timeline * type created "
                           "actor crm",
                           i);
        queued += 2;
        if (i % 10 == 0) { /* what the example trial_class_invite wants */
            redisAppendCommand(c, "SADD slm:student:{%ld}:tags intent:high", i);
            queued++;
        }
        if (queued >= 1000) {
            drain_replies(c, queued);
            queued = 0;
        }
    }
    for (long i = 0; i < events; i++) {
        snprintf(id, sizeof id, "%ld", (i * 7919) % students);
        switch (i % 10) {
        case 0: case 1: case 2: case 3:
            redisAppendCommand(c, "XADD " STREAM " * type stage student %s "
                                  "from lead to consulting", id);
            break;
        case 4: case 5: case 6:
            redisAppendCommand(c, "XADD " STREAM " * type tag student %s "
                                  "tag intent:high", id);
            break;
        default:
            snprintf(note, sizeof note, "call %ld", i);
            redisAppendCommand(c, "XADD " STREAM " * type followup student %s "
                                  "staff s1 note %s", id, note);
        }
        if (++queued == 1000) {
            drain_replies(c, queued);
            queued = 0;
        }
    }
    drain_replies(c, queued);
    redisFree(c);
    return 0;
}

/* Sends all that is queued (redisGetReply would send it only once no
 * reply is left to read, and the pipeline needs it in Redis now). */
static void flush_queued(redisContext *c)
{
    int done = 0;

    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK) {
            fprintf(stderr, "redis: %s\n", c->errstr);
            exit(1);
        }
}

/* --- limit and bare: the hand-pipelined consumers ---------------------- */

/*
 * Commands are built in RESP with nudged's own builders (core/resp.c,
 * and core/timeline.c for the timeline entry), so that they are the same
 * bytes and cost the client as little as they cost nudged; a batch's
 * commands are appended to the pipeline at once.
 */

#define PREFIX "slm:"
#define TIMELINE_MAXLEN 1000 /* nudged's default [redis] timeline_maxlen */

struct pipe {
    redisContext *c;
    const char *group;
    int batch;
    int full; /* limit (nudged's commands) rather than bare */
    struct resp out;
};

static void append_queued(struct pipe *p)
{
    if (p->out.failed) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    redisAppendFormattedCommand(p->c, p->out.buf, p->out.len);
    resp_reset(&p->out);
}

static void queue_read(struct pipe *p)
{
    resp_begin(&p->out, 9);
    resp_str(&p->out, "XREADGROUP");
    resp_str(&p->out, "GROUP");
    resp_str(&p->out, p->group);
    resp_str(&p->out, "c1");
    resp_str(&p->out, "COUNT");
    resp_long(&p->out, p->batch);
    resp_str(&p->out, "STREAMS");
    resp_str(&p->out, STREAM);
    resp_str(&p->out, ">");
}

/* The entries of an XREADGROUP reply ([[stream, entries]]), or NULL when
 * there were none left. */
static const redisReply *stream_entries(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->elements < 2)
        return NULL;
    return r->element[0]->element[1];
}

static const char *entry_id(const redisReply *entry)
{
    return entry->element[0]->str;
}

/* A field of an entry ([id, [name, value, ...]]), or NULL. */
static const char *entry_field(const redisReply *entry, const char *name)
{
    const redisReply *f = entry->element[1];

    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (strcmp(f->element[i]->str, name) == 0)
            return f->element[i + 1]->str;
    return NULL;
}

static void queue_student_key(struct pipe *p, const redisReply *entry)
{
    char key[KEY_MAX];

    key_student(key, sizeof key, PREFIX, entry_field(entry, "student"),
                NULL);
    resp_str(&p->out, key);
}

/* nudged checks that the batch's students exist with one EXISTS. */
static int queue_exists(struct pipe *p, const redisReply *entries)
{
    resp_begin(&p->out, (int)entries->elements + 1);
    resp_str(&p->out, "EXISTS");
    for (size_t i = 0; i < entries->elements; i++)
        queue_student_key(p, entries->element[i]);
    return 1;
}

/* The timeline entry nudged writes for the three event kinds fill makes
 * (stage, tag, followup: see daemon/event_record.c): the same fields,
 * formatted by the same function. */
static int queue_timeline(struct pipe *p, const redisReply *entry)
{
    struct tl_entry e = TL_ENTRY_INIT;
    const char *type = entry_field(entry, "type");
    char detail[300];

    e.type = type;
    e.actor = "crm";
    e.event_id = entry_id(entry);
    e.detail = detail;
    if (strcmp(type, "stage") == 0) {
        const char *from = entry_field(entry, "from");
        snprintf(detail, sizeof detail, "%s -> %s", from ? from : "?",
                 entry_field(entry, "to"));
    } else if (strcmp(type, "tag") == 0) {
        snprintf(detail, sizeof detail, "added %s", entry_field(entry, "tag"));
    } else {
        e.actor = entry_field(entry, "staff");
        e.detail = entry_field(entry, "note");
    }
    timeline_format(&p->out, PREFIX, entry_field(entry, "student"),
                    TIMELINE_MAXLEN, &e);
    return 1;
}

/* A followup's marks on the student's hash, from the entry id's time. */
static int queue_followup(struct pipe *p, const redisReply *entry)
{
    long long ms = strtoll(entry_id(entry), NULL, 10);

    if (strcmp(entry_field(entry, "type"), "followup") != 0)
        return 0;
    resp_begin(&p->out, 6);
    resp_str(&p->out, "HSET");
    queue_student_key(p, entry);
    resp_str(&p->out, "followup_at");
    resp_long(&p->out, ms);
    resp_str(&p->out, "last_touch_at");
    resp_long(&p->out, ms / 1000);
    return 1;
}

static int queue_ack(struct pipe *p, const redisReply *entries)
{
    resp_begin(&p->out, (int)entries->elements + 3);
    resp_str(&p->out, "XACK");
    resp_str(&p->out, STREAM);
    resp_str(&p->out, p->group);
    for (size_t i = 0; i < entries->elements; i++)
        resp_str(&p->out, entry_id(entries->element[i]));
    return 1;
}

/* Queues what a batch asks of Redis after its read; returns the number
 * of replies that will come back. */
static int queue_batch(struct pipe *p, const redisReply *entries)
{
    int replies = 0;

    if (p->full) {
        replies += queue_exists(p, entries);
        for (size_t i = 0; i < entries->elements; i++) {
            replies += queue_timeline(p, entries->element[i]);
            replies += queue_followup(p, entries->element[i]);
        }
    }
    return replies + queue_ack(p, entries);
}

/* Reads the whole backlog; returns the entries read. owed[] holds the
 * replies of the last two batches' writes: batch N's come back after the
 * read of batch N+1 and before that of N+2. */
static long pipeline_consume(struct pipe *p, long events)
{
    int owed[2] = {0, 0}, in_flight;
    long read = 0;
    redisReply *r;

    for (in_flight = 0; in_flight < 2; in_flight++)
        queue_read(p);
    append_queued(p);
    flush_queued(p->c);
    for (long j = 0; in_flight > 0; j++) {
        drain_replies(p->c, owed[j % 2]);
        r = next_reply(p->c);
        in_flight--;
        const redisReply *entries = stream_entries(r);
        size_t n = entries ? entries->elements : 0;
        read += (long)n;
        owed[j % 2] = n ? queue_batch(p, entries) : 0;
        if (n && read < events) {
            queue_read(p);
            in_flight++;
        }
        append_queued(p);
        freeReplyObject(r); /* the commands were copied out of it */
        flush_queued(p->c);
    }
    drain_replies(p->c, owed[0] + owed[1]);
    return read;
}

static int pipeline_run(int port, long events, int batch, int full)
{
    struct pipe p = {.c = connect_port(port),
                     .group = full ? "limit" : "bare",
                     .batch = batch,
                     .full = full};
    double t0;
    long read;

    /* Each batch's replies are freed and the next ones allocated: keep
     * that memory instead of giving it back to the kernel and faulting it
     * in again, which took CPU time from Redis on a machine of 2 cores. */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    freeReplyObject(
        redisCommand(p.c, "XGROUP CREATE " STREAM " %s 0", p.group));
    t0 = now_s();
    read = pipeline_consume(&p, events);
    if (read < events) {
        fprintf(stderr, "%s: the backlog held %ld events, not %ld\n", p.group,
                read, events);
        return 1;
    }
    printf("%.3f\n", now_s() - t0);
    resp_free(&p.out);
    redisFree(p.c);
    return 0;
}

/* --- wait: nudged reading the backlog ----------------------------------- */

static long group_field(redisContext *c, const char *group, const char *field)
{
    redisReply *r = redisCommand(c, "XINFO GROUPS " STREAM);
    long v = -1;

    for (size_t i = 0; r && i < r->elements; i++) {
        redisReply *g = r->element[i];
        int match = 0;
        for (size_t j = 0; j + 1 < g->elements; j += 2)
            if (strcmp(g->element[j]->str, "name") == 0 &&
                strcmp(g->element[j + 1]->str, group) == 0)
                match = 1;
        for (size_t j = 0; match && j + 1 < g->elements; j += 2)
            if (strcmp(g->element[j]->str, field) == 0 &&
                g->element[j + 1]->type == REDIS_REPLY_INTEGER)
                v = g->element[j + 1]->integer;
    }
    freeReplyObject(r);
    return v;
}

/* Times from the group's first read (as limit and bare are timed from
 * their first XREADGROUP: none counts starting up) until all is
 * acknowledged. */
static int wait_group(int port, long events, const char *group)
{
    redisContext *c = connect_port(port);
    double t0 = now_s(), start = 0;

    while (group_field(c, group, "entries-read") <= 0) {
        if (now_s() - t0 > 60) {
            fprintf(stderr, "timed out waiting for the first read\n");
            return 1;
        }
        usleep(200);
    }
    start = now_s();
    for (;;) {
        if (group_field(c, group, "entries-read") >= events &&
            group_field(c, group, "pending") == 0)
            break;
        if (now_s() - t0 > 300) {
            fprintf(stderr, "timed out\n");
            return 1;
        }
        usleep(2000);
    }
    printf("%.3f\n", now_s() - start);
    redisFree(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "fill") == 0)
        return fill(atoi(argv[2]), atol(argv[3]), atol(argv[4]));
    if (argc == 5 && strcmp(argv[1], "limit") == 0)
        return pipeline_run(atoi(argv[2]), atol(argv[3]), atoi(argv[4]), 1);
    if (argc == 5 && strcmp(argv[1], "bare") == 0)
        return pipeline_run(atoi(argv[2]), atol(argv[3]), atoi(argv[4]), 0);
    if (argc == 5 && strcmp(argv[1], "wait") == 0)
        return wait_group(atoi(argv[2]), atol(argv[3]), argv[4]);
    fprintf(stderr, "usage: events_tool fill|limit|bare|wait PORT EVENTS ARG\n");
    return 2;
}
