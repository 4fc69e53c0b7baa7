/*
 * outbox.c - the file channel (see outbox.h). Each message is one write()
 * of one line on an O_APPEND descriptor, so several daemons can share a
 * file and a line is never torn.
 */
#include "channels/outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"

static unsigned long outbox_seq; /* provider ids: outbox-<pid>-<seq> */

struct outbox {
    int fd;
    char *path;
};

static void *outbox_init(const struct chan_conf *cc, struct conf_section *sec,
                         const struct config *cfg, struct diag *d)
{
    const char *path = conf_section_get(sec, "path");
    struct outbox *o;

    if (!path) {
        diag_error(d, sec->file, sec->line, 0,
                   "[channel.%s]: an outbox needs `path = FILE`", sec->name);
        return NULL;
    }
    if (!(o = calloc(1, sizeof *o)) || !(o->path = config_path(cfg, path))) {
        free(o);
        return NULL;
    }
    o->fd = open(o->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (o->fd < 0) {
        diag_error(d, sec->file, conf_section_line(sec, "path"), 0,
                   "path: cannot open \"%s\": %s", o->path, strerror(errno));
        free(o->path);
        free(o);
        return NULL;
    }
    return o;
}

static void set_opt(json_t *obj, const char *key, const char *value)
{
    if (value)
        json_object_set_new(obj, key, json_string(value));
}

static char *iso_time(char *buf, size_t n)
{
    int64_t ms = clock_now_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    size_t len = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + len, n - len, ".%03dZ", (int)(ms % 1000));
    return buf;
}

static json_t *message_json(const struct chan_msg *m, const char *id)
{
    char when[40];
    json_t *obj = json_object();

    if (!obj)
        return NULL;
    set_opt(obj, "time", iso_time(when, sizeof when));
    set_opt(obj, "id", id);
    set_opt(obj, "student", m->student);
    set_opt(obj, "channel", m->channel);
    set_opt(obj, "type", m->type);
    set_opt(obj, "to", m->to);
    set_opt(obj, "to_kind", m->to_kind);
    set_opt(obj, "sender", m->sender);
    set_opt(obj, "subject", m->subject);
    set_opt(obj, "body", m->body);
    set_opt(obj, "html", m->html);
    set_opt(obj, "format", m->format);
    set_opt(obj, "provider_template", m->provider_template);
    set_opt(obj, "provider_params", m->provider_params);
    set_opt(obj, "rule", m->rule);
    set_opt(obj, "template", m->template_name);
    if (m->step >= 0)
        json_object_set_new(obj, "step", json_integer(m->step));
    set_opt(obj, "key", m->idempotency_key);
    return obj;
}

/* A local file write is quick: the outcome is known before submit()
 * returns, so done() is called from within it. */
static void outbox_submit(void *self, const struct chan_msg *m,
                          chan_done_fn done, void *arg)
{
    struct outbox *o = self;
    struct chan_result res = {0};
    char id[64];
    char *line;
    json_t *obj;
    size_t len;

    /* one sequence for the process: channels sharing a file (or not)
     * never give two messages one id */
    snprintf(id, sizeof id, "outbox-%ld-%lu", (long)getpid(),
             __atomic_add_fetch(&outbox_seq, 1, __ATOMIC_RELAXED));
    obj = message_json(m, id);
    line = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!line) {
        chan_result_fail(&res, CHAN_TRANSIENT, "ENOMEM", "outbox: out of memory");
        done(arg, &res);
        return;
    }
    len = strlen(line);
    line[len] = '\n'; /* the NUL becomes the newline: one write() */
    ssize_t w = write(o->fd, line, len + 1);
    free(line);
    if (w != (ssize_t)(len + 1))
        chan_result_fail(&res, CHAN_TRANSIENT, "EIO", "outbox: write %s: %s",
                         o->path, w < 0 ? strerror(errno) : "short write");
    else
        snprintf(res.provider_id, sizeof res.provider_id, "%s", id);
    done(arg, &res);
}

static void outbox_close(void *self)
{
    struct outbox *o = self;

    close(o->fd);
    free(o->path);
    free(o);
}

const struct chan_driver chan_outbox = {
    .abi_version = CHAN_ABI_VERSION,
    .type = "outbox",
    .caps = 0,
    .init = outbox_init,
    .submit = outbox_submit,
    .close = outbox_close,
};
