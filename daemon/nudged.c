/*
 * nudged.c - the daemon: loads the config, opens the channels, starts the
 * HTTP listener and the event consumer (daemon/consumer.c) on its own
 * thread, and turns signals into actions:
 *   SIGTERM, SIGINT  stop reading, finish what is in hand, exit 0;
 *   SIGHUP           reload what can be reloaded; a broken file keeps the
 *                    old settings and logs why.
 *
 * usage: nudged [-c FILE] [-f] [-p PIDFILE] | --help | --version
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channels/channel.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "daemon/consumer.h"
#include "daemon/http.h"
#include "daemon/retention.h"
#include "queues/dispatcher.h" /* rule engine (issue 5) */
#include "rules/engine.h"      /* rule engine (issue 5) */

static volatile sig_atomic_t got_stop, got_reload;
static volatile int stop_flag; /* what the workers poll */

struct nudged {
    const char *conf_path;
    const char *pidfile;
    int foreground;
    struct config cfg;
    struct channel_set channels;
    struct consumer *consumer;
    struct http *http;
    struct unsub *unsub;       /* NULL without an unsubscribe_secret */
    struct receipts *receipts; /* /receipts/sms */
    struct replies *replies;   /* /replies/sms */
    struct report_page *report; /* /report; NULL without a report_token */
    pthread_t consumer_thread;
    int consumer_started;
    struct engine *engine;         /* rule engine (issue 5) */
    struct dispatcher *dispatcher; /* runs the engine's queued steps */
    struct retention *retention;   /* trims old timeline entries */
    char pidpath[4096];
};

static void usage(FILE *fp)
{
    fprintf(fp, "usage: nudged [-c FILE] [-f] [-p PIDFILE]\n"
                "  -c FILE     the config (default /etc/nudge/nudged.conf)\n"
                "  -f          stay in the foreground and log to stderr\n"
                "  -p PIDFILE  write the process id there (overrides "
                "[daemon] pidfile)\n"
                "  -h, --help  this text\n"
                "  --version   the version\n"
                "See nudged(8) and nudged.conf(5).\n");
}

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        got_reload = 1;
    else
        got_stop = 1;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static int write_pidfile(const char *path)
{
    char buf[32];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0) {
        log_warn("pidfile %s", path);
        return -1;
    }
    snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (write(fd, buf, strlen(buf)) < 0)
        log_warn("pidfile %s", path);
    close(fd);
    return 0;
}

/* Whether some round trip to Redis succeeded lately: within [redis]
 * timeout past the consumer's longest wait (its block). A frozen Redis
 * keeps its connections open and answers nothing. */
static int redis_answering(const struct config *cfg, char *why, size_t n)
{
    int64_t quiet = clock_mono_ms() - rconn_last_reply_ms();

    if (!cfg->redis.timeout_ms ||
        quiet <= cfg->redis.timeout_ms + cfg->daemon.block_ms)
        return 1;
    snprintf(why, n, "Redis has not answered for %lld s",
             (long long)(quiet / 1000));
    return 0;
}

static int health(void *ctx, char *why, size_t n)
{
    struct nudged *nd = ctx;
    /* The listener answers from the start; the consumer comes a moment
     * later (start()). */
    struct consumer *c = __atomic_load_n(&nd->consumer, __ATOMIC_ACQUIRE);

    if (!c) {
        snprintf(why, n, "starting");
        return 0;
    }
    if (!consumer_healthy(c)) {
        snprintf(why, n, "Redis unreachable or event consumer not running");
        return 0;
    }
    if (!redis_answering(&nd->cfg, why, n))
        return 0;
    return 1;
}

static void *consumer_main(void *arg)
{
    consumer_run(arg);
    return NULL;
}

/* Loads and checks the config and the channels; prints errors. */
static int load(struct nudged *nd)
{
    struct diag d = {0};
    int ok = config_load(nd->conf_path, &nd->cfg, &d) == 0 &&
             channels_open(&nd->cfg, &nd->channels, &d) == 0;

    /* rule engine (issue 5): the rules and templates must check clean */
    if (ok && !(nd->engine = engine_new(&nd->cfg, &nd->channels, &d)))
        ok = 0;

    diag_print(&d, stderr);
    diag_clear(&d);
    return ok ? 0 : -1;
}

/* SIGHUP: for now the log level is what reloads; the rest needs a
 * restart (docs/operations.md). */
static void reload(struct nudged *nd)
{
    struct config fresh;
    struct diag d = {0};

    if (config_load(nd->conf_path, &fresh, &d) < 0) {
        reload_refused("config", "the running config", &d);
        diag_clear(&d);
        config_free(&fresh);
        return;
    }
    log_set_level((enum log_level)fresh.daemon.log_level);
    engine_reload(nd->engine, &d); /* rule engine (issue 5): logs itself */
    log_info("reloaded %s (log level); Redis, HTTP, daemon and channel "
             "settings take effect on restart",
             nd->conf_path);
    config_free(&fresh);
    diag_clear(&d);
}

static int start(struct nudged *nd)
{
    char err[256];

    if (nd->cfg.http.listen[0]) {
        nd->unsub = unsub_new(&nd->cfg);
        nd->receipts = receipts_new(&nd->cfg);
        nd->replies = replies_new(&nd->cfg);
        nd->report = report_page_new(&nd->cfg);
        nd->http = http_start(nd->cfg.http.listen, health, nd, nd->unsub,
                              nd->receipts, nd->replies, nd->report, err,
                              sizeof err);
        if (!nd->http) {
            log_errorx("%s", err);
            return -1;
        }
        log_info("HTTP on %s: /healthz, /metrics%s%s%s%s",
                 nd->cfg.http.listen, nd->unsub ? ", /unsubscribe" : "",
                 nd->receipts ? ", /receipts/sms" : "",
                 nd->replies ? ", /replies/sms" : "",
                 nd->report ? ", /report" : "");
    }
    struct consumer *c = consumer_new(&nd->cfg, &stop_flag);

    if (!c)
        return -1;
    __atomic_store_n(&nd->consumer, c, __ATOMIC_RELEASE);
    { /* rule engine (issue 5): events in, queued steps, schedules */
        struct consumer_hook hook = {
            .wants = engine_hook_wants,
            .send = engine_hook_send,
            .finish = engine_hook_finish,
            .drop = engine_hook_drop,
            .flush = engine_hook_flush,
            .ctx = nd->engine,
            .stage_rank = engine_stage_rank,
            .tags_wanted = engine_hook_tags_wanted,
        };
        consumer_set_hook(nd->consumer, &hook);
        struct job_hooks jobs = {engine_job, engine_prefetch, engine_drop};
        nd->dispatcher = dispatcher_start_hooks(&nd->cfg, &jobs, nd->engine,
                                                &stop_flag, err, sizeof err);
        if (!nd->dispatcher || engine_start(nd->engine, &stop_flag) < 0) {
            log_errorx("rule engine: %s", nd->dispatcher ? "no thread" : err);
            return -1;
        }
    }
    if (pthread_create(&nd->consumer_thread, NULL, consumer_main,
                       nd->consumer) != 0) {
        log_warnx("cannot start the event consumer");
        return -1;
    }
    nd->consumer_started = 1;
    nd->retention = retention_start(&nd->cfg, &stop_flag);
    return 0;
}

/* SIGTERM is obeyed within [daemon] stop_timeout whatever Redis or a
 * provider does: past it nudged exits with work in hand. Nothing is lost
 * by that: events not acknowledged are read again, leased jobs come back
 * when their lease ends, and a send's record decides whether it went. */
static void *stop_watchdog(void *arg)
{
    struct nudged *nd = arg;

    clock_sleep_ms(nd->cfg.daemon.stop_timeout_ms, NULL);
    log_warnx("stopping took longer than %lld ms ([daemon] stop_timeout; "
              "Redis or a provider not answering?): exiting now; what was "
              "in hand is taken up again by the next start",
              (long long)nd->cfg.daemon.stop_timeout_ms);
    if (nd->pidfile)
        unlink(nd->pidfile);
    _exit(0);
    return NULL;
}

static void start_stop_watchdog(struct nudged *nd)
{
    pthread_t t;

    if (nd->cfg.daemon.stop_timeout_ms <= 0 ||
        pthread_create(&t, NULL, stop_watchdog, nd) != 0)
        return;
    pthread_detach(t);
}

/* Waits for signals; returns when asked to stop. */
static void serve(struct nudged *nd)
{
    while (!got_stop) {
        if (got_reload) {
            got_reload = 0;
            reload(nd);
        }
        clock_sleep_ms(100, NULL);
    }
    log_info("stopping: finishing the events in hand");
    stop_flag = 1;
    start_stop_watchdog(nd);
}

static void shutdown_all(struct nudged *nd)
{
    if (nd->consumer_started)
        pthread_join(nd->consumer_thread, NULL);
    retention_join(nd->retention);
    /* Sends in flight finish (queue.drain at most); whatever a channel
     * still holds then comes back as an outcome, which the workers record
     * before they stop. */
    dispatcher_drain(nd->dispatcher);
    channels_stop(&nd->channels);
    if (nd->dispatcher)
        dispatcher_join(nd->dispatcher);
    engine_free(nd->engine);
    consumer_free(nd->consumer);
    http_stop(nd->http);
    unsub_free(nd->unsub);
    receipts_free(nd->receipts);
    replies_free(nd->replies);
    report_page_free(nd->report);
    channels_close(&nd->channels);
    if (nd->pidfile)
        unlink(nd->pidfile);
    config_free(&nd->cfg);
}

int main(int argc, char **argv)
{
    struct nudged nd = {.conf_path = "/etc/nudge/nudged.conf"};
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    while ((ch = getopt_long(argc, argv, "c:fp:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            nd.conf_path = optarg;
            break;
        case 'f':
            nd.foreground = 1;
            break;
        case 'p':
            nd.pidfile = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("nudged %s\n", NUDGE_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    log_init("nudged", 1, LOG_LVL_INFO);
    if (load(&nd) < 0) {
        config_free(&nd.cfg);
        return 2;
    }
    clock_set_zone(nd.cfg.delivery.timezone); /* schedules' local time */
    if (nd.cfg.daemon.test_clock && clock_use_file(nd.cfg.daemon.test_clock) < 0)
        fatalx("[daemon] test_clock: cannot read %s", nd.cfg.daemon.test_clock);
    if (!nd.pidfile)
        nd.pidfile = nd.cfg.daemon.pidfile;
    else if (nd.pidfile[0] != '/' && getcwd(nd.pidpath, 2048)) {
        /* daemon() moves to /: keep a relative -p where it was meant. */
        size_t len = strlen(nd.pidpath);
        snprintf(nd.pidpath + len, sizeof nd.pidpath - len, "/%s", nd.pidfile);
        nd.pidfile = nd.pidpath;
    }
    if (!nd.foreground && daemon(0, 0) < 0)
        fatalx("daemon: %s", strerror(errno));
    log_init("nudged", nd.foreground, (enum log_level)nd.cfg.daemon.log_level);
    install_signals();
    if (nd.pidfile)
        write_pidfile(nd.pidfile);
    if (start(&nd) < 0) {
        stop_flag = 1;
        shutdown_all(&nd);
        return 1;
    }
    log_info("nudged started (pid %ld)", (long)getpid());
    serve(&nd);
    shutdown_all(&nd);
    log_info("nudged stopped");
    return 0;
}
