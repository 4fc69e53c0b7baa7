/*
 * consumer_name.c - the consumer name's lease (see consumer_name.h).
 */
#include "daemon/consumer_name.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/keys.h"
#include "core/log.h"
#include "core/reply.h"

struct name_lease {
    const struct config *cfg;
    const char *name;
    char key[KEY_MAX];
    char me[320];       /* "PID@HOST" */
    char host[256];
    char warned[320];   /* the holder last warned about */
    int64_t ttl_ms;
    int64_t next_ms;    /* clock_mono_ms() of the next renewal */
};

/* Sets the key to ARGV[1] for ARGV[2] ms unless another holds it.
 * KEYS: the lease. Returns the other holder, or false when it is ours. */
static _Thread_local struct rscript take_script = {
    .source = "local v = redis.call('GET', KEYS[1])\n"
              "if v and v ~= ARGV[1] then return v end\n"
              "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
              "return false\n"};

/* Deletes the key if it holds ARGV[1]. */
static _Thread_local struct rscript release_script = {
    .source = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
              "  return redis.call('DEL', KEYS[1])\n"
              "end\n"
              "return 0\n"};

struct name_lease *name_lease_new(const struct config *cfg, const char *name)
{
    struct name_lease *nl = calloc(1, sizeof *nl);
    char what[KEY_MAX];

    if (!nl)
        return NULL;
    nl->cfg = cfg;
    nl->name = name;
    snprintf(what, sizeof what, "consumer:%s:%s", cfg->daemon.group, name);
    key_global(nl->key, sizeof nl->key, cfg->redis.prefix, what);
    if (gethostname(nl->host, sizeof nl->host) < 0)
        snprintf(nl->host, sizeof nl->host, "?");
    nl->host[sizeof nl->host - 1] = '\0';
    snprintf(nl->me, sizeof nl->me, "%ld@%s", (long)getpid(), nl->host);
    nl->ttl_ms = 3 * cfg->daemon.block_ms + 2 * cfg->redis.timeout_ms;
    if (nl->ttl_ms < 10000)
        nl->ttl_ms = 10000;
    return nl;
}

void name_lease_free(struct name_lease *nl)
{
    free(nl);
}

/* Whether holder ("PID@HOST") is a process of this host that is gone: a
 * crashed run of this daemon, whose lease has not expired yet. */
static int holder_dead(const struct name_lease *nl, const char *holder)
{
    char *end;
    long pid = strtol(holder, &end, 10);

    if (end == holder || *end != '@' || strcmp(end + 1, nl->host) != 0 ||
        pid <= 0)
        return 0;
    return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* Runs script on the lease with our value (and the expiry). */
static redisReply *run(struct name_lease *nl, struct rconn *rc,
                       struct rscript *s)
{
    char ttl[32];
    const char *argv[] = {nl->key, nl->me, ttl};

    snprintf(ttl, sizeof ttl, "%lld", (long long)nl->ttl_ms);
    return rconn_script(rc, s, 1, 3, argv, NULL);
}

static void warn_holder(struct name_lease *nl, const char *holder)
{
    if (strcmp(holder, nl->warned) == 0)
        return;
    snprintf(nl->warned, sizeof nl->warned, "%s", holder);
    log_warnx("consumer name \"%s\" (group %s) is in use by another live "
              "daemon (%s; this one is %s): the two take each other's "
              "pending events, so an event may be handled twice; give each "
              "daemon its own [daemon] consumer",
              nl->name, nl->cfg->daemon.group, holder, nl->me);
}

int name_lease_renew(struct name_lease *nl, struct rconn *rc)
{
    redisReply *r = run(nl, rc, &take_script);

    if (!r)
        return -1;
    nl->next_ms = clock_mono_ms() + nl->ttl_ms / 3;
    if (r->type == REDIS_REPLY_STRING) {
        if (!holder_dead(nl, r->str))
            warn_holder(nl, r->str);
        else {
            reply_free(r);
            r = rconn_cmd(rc, "SET %s %s PX %lld", nl->key, nl->me,
                          (long long)nl->ttl_ms);
            if (!r)
                return -1;
        }
    } else if (r->type == REDIS_REPLY_ERROR) {
        log_warnx("consumer name lease %s: %s", nl->key, r->str);
    }
    reply_free(r);
    return 0;
}

int name_lease_tick(struct name_lease *nl, struct rconn *rc)
{
    return clock_mono_ms() < nl->next_ms ? 0 : name_lease_renew(nl, rc);
}

void name_lease_release(struct name_lease *nl, struct rconn *rc)
{
    redisReply *r;

    if (!rc->c || !(r = run(nl, rc, &release_script)))
        return;
    reply_free(r);
}
