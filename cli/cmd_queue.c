/*
 * cmd_queue.c - nudgectl queue [stats|dead|retry ID]: the operator's view
 * of the delayed queue (queues/delayed.h): how much waits, how late the
 * oldest due job is, what is paused (core/pause.h), the dead letters and
 * their last errors, and putting one dead letter back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/ctl.h"
#include "core/pause.h"
#include "queues/delayed.h"

#define DEAD_LIMIT 100 /* dead letters listed per shard by default */
#define PAYLOAD_SHOWN 300

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: nudgectl queue [stats]          counts and the oldest "
            "overdue job's lag\n"
            "       nudgectl queue dead [--limit N]  the dead letters, "
            "oldest first\n"
            "       nudgectl queue retry ID         put a dead letter back, "
            "due now\n"
            "exit status: 0 ok, 1 no such dead letter, 2 usage or Redis "
            "error\n");
}

static void print_time(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[32];

    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs(buf, stdout);
}

/* What `nudgectl pause` stopped (core/pause.h): one line per pause. */
static int show_paused(struct rconn *rc, const char *prefix)
{
    struct pause_entry *v;
    size_t n;

    if (pause_list(rc, prefix, &v, &n) < 0) {
        fprintf(stderr, "nudgectl: queue stats: %s\n", rc->errstr);
        return CTL_USAGE;
    }
    if (n == 0)
        printf("paused      nothing\n");
    for (size_t i = 0; i < n; i++) {
        printf("paused      %s  since ", v[i].field);
        print_time(v[i].since_ms);
        printf("  by %s\n", v[i].actor);
    }
    free(v);
    return CTL_OK;
}

static int show_stats(struct queue *q, const char *prefix)
{
    struct queue_stats st;

    if (queue_stats(q, &st) < 0) {
        fprintf(stderr, "nudgectl: queue stats: %s\n", queue_error(q));
        return CTL_USAGE;
    }
    printf("due         %lld\n", st.due);
    printf("scheduled   %lld\n", st.scheduled);
    printf("in flight   %lld\n", st.in_flight);
    printf("dead        %lld\n", st.dead);
    printf("oldest lag  %.3f s\n", (double)st.oldest_lag_ms / 1000.0);
    printf("shards      %d\n", queue_shards(q));
    return show_paused(queue_conn(q), prefix);
}

/* Payloads are bytes: show printable text, escape the rest. */
static void print_payload(const char *p, size_t len)
{
    size_t shown = len < PAYLOAD_SHOWN ? len : PAYLOAD_SHOWN;

    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < ' ' || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    if (shown < len)
        printf("... (%zu bytes)", len);
}

static int show_dead(struct queue *q, size_t limit)
{
    struct queue_dead *d;
    size_t n;

    if (queue_dead_list(q, limit, &d, &n) < 0) {
        fprintf(stderr, "nudgectl: queue dead: %s\n", queue_error(q));
        return CTL_USAGE;
    }
    for (size_t i = 0; i < n; i++) {
        printf("%s  died ", d[i].id);
        print_time(d[i].died_ms);
        printf("  attempts %d\n  error: %s\n  payload: ", d[i].attempts,
               d[i].error);
        print_payload(d[i].payload, d[i].len);
        putchar('\n');
    }
    printf("%zu dead letter%s\n", n, n == 1 ? "" : "s");
    queue_dead_free(d, n);
    return CTL_OK;
}

static int retry(struct queue *q, const char *id)
{
    int got = queue_retry_dead(q, id);

    if (got < 0) {
        fprintf(stderr, "nudgectl: queue retry: %s\n", queue_error(q));
        return CTL_USAGE;
    }
    if (got == 0) {
        fprintf(stderr, "nudgectl: no dead letter \"%s\"\n", id);
        return CTL_FINDING;
    }
    printf("%s is due again\n", id);
    return CTL_OK;
}

/* Which subcommand, and its argument; -1 on a usage error. */
static int parse(int argc, char **argv, const char **id, size_t *limit)
{
    const char *sub = argc > 1 ? argv[1] : "stats";

    if (strcmp(sub, "stats") == 0 && argc <= 2)
        return 0;
    if (strcmp(sub, "dead") == 0) {
        if (argc == 2)
            return 1;
        if (argc == 4 && strcmp(argv[2], "--limit") == 0 && atol(argv[3]) > 0) {
            *limit = (size_t)atol(argv[3]);
            return 1;
        }
        return -1;
    }
    if (strcmp(sub, "retry") == 0 && argc == 3) {
        *id = argv[2];
        return 2;
    }
    return -1;
}

int cmd_queue(struct ctl *ctl, int argc, char **argv)
{
    const char *id = NULL;
    size_t limit = DEAD_LIMIT;
    struct rconn *rc;
    struct queue *q;
    int sub, status;

    if (ctl_wants_help(argc, argv)) {
        usage(stdout);
        return CTL_OK;
    }
    sub = parse(argc, argv, &id, &limit);
    if (sub < 0) {
        usage(stderr);
        return CTL_USAGE;
    }
    if (!(rc = ctl_redis(ctl)))
        return CTL_USAGE;
    if (!(q = queue_open(&ctl->cfg, rc))) {
        fprintf(stderr, "nudgectl: out of memory\n");
        return CTL_USAGE;
    }
    status = sub == 0   ? show_stats(q, ctl->cfg.redis.prefix)
             : sub == 1 ? show_dead(q, limit)
                        : retry(q, id);
    queue_close(q);
    return status;
}
