/*
 * redis_server.h - a throwaway redis-server for tests: a free loopback
 * port, a temporary folder, no persistence unless asked, stopped and
 * removed at the end. Tests never touch a Redis they did not start.
 */
#ifndef NUDGE_TEST_REDIS_SERVER_H
#define NUDGE_TEST_REDIS_SERVER_H

#include <sys/types.h>

struct test_redis {
    pid_t pid;
    int port;
    char dir[256];
    char address[64]; /* "127.0.0.1:PORT" */
    int appendonly;   /* set before start for appendonly yes */
};

/* Starts it and waits until it answers PING. Returns 0 or -1. */
int test_redis_start(struct test_redis *r);
/* Restarts on the same port and folder (after test_redis_kill()). */
int test_redis_restart(struct test_redis *r);
/* SIGKILL, no cleanup: for crash tests. */
void test_redis_kill(struct test_redis *r);
/* Stops it and removes its folder. */
void test_redis_stop(struct test_redis *r);

/* A free TCP port on 127.0.0.1 (bind to 0, ask, close). */
int test_free_port(void);

#endif
