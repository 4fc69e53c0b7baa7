/*
 * events_tool.c - the event pipeline benchmark's helper (bench_events.sh):
 *
 *   events_tool fill PORT EVENTS STUDENTS   students, then a backlog of
 *                                           events (pipelined XADD)
 *   events_tool raw PORT EVENTS BATCH       the limit: XREADGROUP + XACK
 *                                           with no work, in its own group
 *   events_tool wait PORT EVENTS GROUP      waits until GROUP has read and
 *                                           acknowledged EVENTS; prints the
 *                                           seconds from its first read
 *
 * It talks to the benchmark's own throwaway Redis only.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static void drain_replies(redisContext *c, int n)
{
    void *r;

    for (int i = 0; i < n; i++) {
        if (redisGetReply(c, &r) != REDIS_OK) {
            fprintf(stderr, "redis: %s\n", c->errstr);
            exit(1);
        }
        freeReplyObject(r);
    }
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
        queued++;
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

static int raw(int port, long events, int batch)
{
    redisContext *c = connect_port(port);
    redisReply *r;
    long done = 0;
    double t0;

    freeReplyObject(redisCommand(c, "XGROUP CREATE " STREAM " raw 0"));
    t0 = now_s();
    while (done < events) {
        r = redisCommand(c, "XREADGROUP GROUP raw c1 COUNT %d STREAMS " STREAM
                            " >", batch);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0)
            break;
        redisReply *entries = r->element[0]->element[1];
        size_t n = entries->elements;
        const char **argv = malloc((n + 3) * sizeof *argv);
        argv[0] = "XACK";
        argv[1] = STREAM;
        argv[2] = "raw";
        for (size_t i = 0; i < n; i++)
            argv[i + 3] = entries->element[i]->element[0]->str;
        freeReplyObject(redisCommandArgv(c, (int)n + 3, argv, NULL));
        free(argv);
        done += (long)n;
        freeReplyObject(r);
    }
    printf("%.0f\n", (double)done / (now_s() - t0));
    redisFree(c);
    return 0;
}

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

/* Times from the group's first read (as raw is timed from its first
 * XREADGROUP: neither counts starting up) until all is acknowledged. */
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
    if (argc == 5 && strcmp(argv[1], "raw") == 0)
        return raw(atoi(argv[2]), atol(argv[3]), atoi(argv[4]));
    if (argc == 5 && strcmp(argv[1], "wait") == 0)
        return wait_group(atoi(argv[2]), atol(argv[3]), argv[4]);
    fprintf(stderr, "usage: events_tool fill|raw|wait PORT EVENTS ARG\n");
    return 2;
}
