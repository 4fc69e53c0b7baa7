/*
 * example_channel.c - a small channel plugin, built by the Makefile as
 * build/plugins/example.so and loaded by tests/integration/test_plugins.py
 * through [channels] plugin_dir: the model for writing one
 * (docs/channels.md, "Plugins").
 *
 * Type `example`: appends each message to the file named by its `path`
 * key, one line "PROVIDER_ID<TAB>TO<TAB>BODY" (newlines in the body
 * written as \n), and answers CHAN_OK with provider id example-N.
 *
 *   [channel.ex]
 *   type = example
 *   as = sms
 *   path = example.txt
 *
 * Built again with -DEXAMPLE_ABI=1 as build/plugins/oldabi.so: a plugin
 * of an older ABI, which nudge must refuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channels/channel.h"

#ifndef EXAMPLE_ABI
#define EXAMPLE_ABI CHAN_ABI_VERSION
#endif

struct example {
    int fd;
    unsigned long seq;
};

static void *example_init(const struct chan_conf *cc, struct conf_section *sec,
                          const struct config *cfg, struct diag *d)
{
    const char *value = conf_section_get(sec, "path");
    struct example *e;
    char *path;

    if (!value) {
        diag_error(d, sec->file, sec->line, 0,
                   "[channel.%s]: an example channel needs `path = FILE`",
                   sec->name);
        return NULL;
    }
    if (!(path = config_path(cfg, value)) || !(e = calloc(1, sizeof *e))) {
        free(path);
        return NULL;
    }
    e->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (e->fd < 0) {
        diag_error(d, sec->file, conf_section_line(sec, "path"), 0,
                   "path: cannot open \"%s\": %s", path, strerror(errno));
        free(e);
        e = NULL;
    }
    free(path);
    return e;
}

/* s with newlines as \n and tabs as \t, so that a message is one line. */
static size_t put_escaped(char *out, size_t n, size_t len, const char *s)
{
    for (; s && *s && len + 3 < n; s++) {
        if (*s == '\n' || *s == '\t') {
            out[len++] = '\\';
            out[len++] = *s == '\n' ? 'n' : 't';
        } else {
            out[len++] = *s;
        }
    }
    return len;
}

/* One write() of one line: the outcome is known at once, so done() is
 * called from within submit(). */
static void example_submit(void *self, const struct chan_msg *m,
                           chan_done_fn done, void *arg)
{
    struct example *e = self;
    struct chan_result res = {0};
    char line[8192];
    size_t len;

    snprintf(res.provider_id, sizeof res.provider_id, "example-%lu",
             ++e->seq); /* submit() is called from one thread */
    len = (size_t)snprintf(line, sizeof line, "%s\t", res.provider_id);
    len = put_escaped(line, sizeof line, len, m->to);
    line[len++] = '\t';
    len = put_escaped(line, sizeof line, len, m->body);
    line[len++] = '\n';
    if (write(e->fd, line, len) != (ssize_t)len) {
        res.provider_id[0] = '\0';
        chan_result_fail(&res, CHAN_TRANSIENT, "EIO", "example: write: %s",
                         strerror(errno));
    }
    done(arg, &res);
}

static void example_close(void *self)
{
    struct example *e = self;

    close(e->fd);
    free(e);
}

const struct chan_driver nudge_channel_driver = {
    .abi_version = EXAMPLE_ABI,
    .type = "example",
    .caps = 0,
    .init = example_init,
    .submit = example_submit,
    .close = example_close,
};
