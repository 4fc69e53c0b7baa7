/*
 * redis_server.c - starting and stopping throwaway redis-servers for tests
 * (see redis_server.h).
 */
#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int test_free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int answers_ping(int port)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r;
    int ok = 0;

    if (c && !c->err && (r = redisCommand(c, "PING"))) {
        ok = r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return ok;
}

static int spawn(struct test_redis *r)
{
    char port[16];

    snprintf(port, sizeof port, "%d", r->port);
    r->pid = fork();
    if (r->pid < 0)
        return -1;
    if (r->pid == 0) {
        freopen("/dev/null", "w", stdout);
        execlp("redis-server", "redis-server", "--port", port, "--bind",
               "127.0.0.1", "--dir", r->dir, "--save", "", "--appendonly",
               r->appendonly ? "yes" : "no", "--appendfsync", "always",
               "--daemonize", "no", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) { /* up to 10 s */
        if (answers_ping(r->port))
            return 0;
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    test_redis_kill(r);
    return -1;
}

int test_redis_start(struct test_redis *r)
{
    snprintf(r->dir, sizeof r->dir, "/tmp/nudge-test-redis-XXXXXX");
    if (!mkdtemp(r->dir))
        return -1;
    for (int tries = 0; tries < 5; tries++) {
        if ((r->port = test_free_port()) < 0)
            return -1;
        snprintf(r->address, sizeof r->address, "127.0.0.1:%d", r->port);
        if (spawn(r) == 0)
            return 0;
    }
    return -1;
}

int test_redis_restart(struct test_redis *r)
{
    return spawn(r);
}

void test_redis_kill(struct test_redis *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
}

void test_redis_stop(struct test_redis *r)
{
    char cmd[300];

    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
    if (strncmp(r->dir, "/tmp/nudge-test-redis-", 22) == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", r->dir);
    }
}
