/*
 * chan_tool.c - a test driver for the channel drivers, without the rule
 * engine: it opens the channels of a config, submits the messages given on
 * stdin (one JSON object per line, the fields of struct chan_msg: to,
 * body, subject, mime, html, format, to_kind, sender, provider_template,
 * provider_params, student, rule, template, step, key) all at once
 * through one channel's delivery queue, waits for every outcome and prints
 * one JSON line per message, in input order:
 *
 *   {"n":0,"status":"ok","provider_id":"...","code":"","error":"",
 *    "account":0,"retry_after_ms":0,"seconds":0.05}
 *
 *   chan_tool -c FILE send CHANNEL < messages.jsonl
 *
 * Exit status 0 when every outcome came back (whatever it was), 2 on a
 * usage or config error.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channels/channel.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"

struct slot {
    json_t *in;
    struct chan_result res;
    int64_t started_ms, ended_ms;
    int done;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static size_t pending;

static void on_done(void *arg, const struct chan_result *res)
{
    struct slot *s = arg;

    pthread_mutex_lock(&mu);
    s->res = *res;
    s->ended_ms = clock_mono_ms();
    s->done = 1;
    pending--;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void msg_of(json_t *o, struct chan_msg *m)
{
    json_t *step = json_object_get(o, "step");

    memset(m, 0, sizeof *m);
    m->type = str(o, "type");
    m->student = str(o, "student");
    m->to = str(o, "to");
    m->to_kind = str(o, "to_kind");
    m->sender = str(o, "sender");
    m->subject = str(o, "subject");
    m->body = str(o, "body");
    m->html = str(o, "html");
    m->mime = str(o, "mime");
    m->format = str(o, "format");
    m->provider_template = str(o, "provider_template");
    m->provider_params = str(o, "provider_params");
    m->rule = str(o, "rule");
    m->template_name = str(o, "template");
    m->step = step ? (int)json_integer_value(step) : -1;
    m->idempotency_key = str(o, "key");
}

static const char *status_name(enum chan_status s)
{
    static const char *const names[] = {"ok", "transient", "permanent",
                                        "unknown"};
    return (unsigned)s < 4 ? names[s] : "?";
}

static void print_outcome(size_t n, const struct slot *s)
{
    json_t *o = json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:i, s:I, s:f}", "n", (json_int_t)n,
        "status", status_name(s->res.status), "provider_id",
        s->res.provider_id, "code", s->res.code, "error", s->res.error,
        "account", s->res.account, "retry_after_ms",
        (json_int_t)s->res.retry_after_ms, "seconds",
        (s->ended_ms - s->started_ms) / 1000.0);
    char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;

    if (line)
        printf("%s\n", line);
    free(line);
    json_decref(o);
}

static struct slot *read_messages(size_t *n)
{
    struct slot *v = NULL;
    size_t cap = 0;
    char *line = NULL;
    size_t len = 0;

    *n = 0;
    while (getline(&line, &len, stdin) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        if (!json_is_object(o)) {
            json_decref(o);
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            v = realloc(v, cap * sizeof *v);
        }
        memset(&v[*n], 0, sizeof *v);
        v[(*n)++].in = o;
    }
    free(line);
    return v;
}

static int send_all(struct channel *ch)
{
    size_t n, i;
    struct slot *v = read_messages(&n);

    pending = n;
    for (i = 0; i < n; i++) {
        struct chan_msg m;
        msg_of(v[i].in, &m);
        v[i].started_ms = clock_mono_ms();
        if (channel_submit(ch, &m, on_done, &v[i]) < 0) {
            chan_result_fail(&v[i].res, CHAN_TRANSIENT, "closing",
                             "not submitted");
            v[i].done = 1;
            pthread_mutex_lock(&mu);
            pending--;
            pthread_mutex_unlock(&mu);
        }
    }
    pthread_mutex_lock(&mu);
    while (pending > 0)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    for (i = 0; i < n; i++) {
        print_outcome(i, &v[i]);
        json_decref(v[i].in);
    }
    free(v);
    return 0;
}

int main(int argc, char **argv)
{
    struct config cfg;
    struct channel_set set = {0};
    struct diag d = {0};
    struct channel *ch;
    int status = 2;

    if (argc != 5 || strcmp(argv[1], "-c") != 0 ||
        strcmp(argv[3], "send") != 0) {
        fprintf(stderr, "usage: chan_tool -c FILE send CHANNEL < msgs\n");
        return 2;
    }
    log_init("chan_tool", 1, LOG_LVL_INFO);
    if (config_load(argv[2], &cfg, &d) < 0 ||
        channels_open(&cfg, &set, &d) < 0) {
        diag_print(&d, stderr);
        diag_clear(&d);
        config_free(&cfg);
        return 2;
    }
    diag_print(&d, stderr);
    diag_clear(&d);
    if (!(ch = channels_find(&set, argv[4])))
        fprintf(stderr, "chan_tool: no channel %s\n", argv[4]);
    else
        status = send_all(ch);
    fflush(stdout);
    channels_close(&set);
    config_free(&cfg);
    return status;
}
