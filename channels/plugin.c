/*
 * plugin.c - finds, loads and checks a shared-object channel driver (see
 * plugin.h). Each refusal is a config error on the channel's `type` line
 * that names the file and says what to do.
 */
#include "channels/plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* [a-z0-9_]+: a type name becomes a file name, so no "/", no "..". */
static int valid_plugin_name(const char *type)
{
    if (!*type)
        return 0;
    for (const char *p = type; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 0;
    return 1;
}

/* "outbox, sms, ..." for messages. */
static void builtin_list(char *buf, size_t n)
{
    const char *const *t = chan_driver_types();
    size_t len = 0;

    buf[0] = '\0';
    for (int i = 0; t[i] && len < n; i++)
        len +=
            (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", t[i]);
}

/* Why the table at drv cannot be used, or NULL when it can. */
static const char *driver_problem(const struct chan_driver *drv,
                                  const char *type, char *buf, size_t n)
{
    /* abi_version first: the rest of another ABI's table may differ */
    if (drv->abi_version != CHAN_ABI_VERSION) {
        snprintf(buf, n,
                 "has channel ABI %d, nudge needs %d: rebuild it against "
                 "this nudge's channels/channel.h",
                 drv->abi_version, CHAN_ABI_VERSION);
        return buf;
    }
    if (!drv->type || strcmp(drv->type, type) != 0) {
        snprintf(buf, n,
                 "holds a driver of type \"%.64s\", not \"%s\": a plugin's "
                 "file is named after its type",
                 drv->type ? drv->type : "(none)", type);
        return buf;
    }
    if (!drv->init || !drv->submit || !drv->close)
        return "has a driver without init, submit or close";
    return NULL;
}

int chan_plugin_open(const struct config *cfg, struct conf_section *sec,
                     const char *type, const struct chan_driver **drv,
                     void **dl, struct diag *d)
{
    const char *dir = cfg->plugin_dir;
    int line = conf_section_line(sec, "type");
    char builtin[256], path[4096], why[256];
    const char *problem;
    struct stat st;
    void *h;

    *drv = NULL;
    *dl = NULL;
    builtin_list(builtin, sizeof builtin);
    if (!valid_plugin_name(type)) {
        diag_error(d, sec->file, line, 0,
                   "type: unknown channel type \"%s\": the built-in types "
                   "are %s, and a plugin's type is made of a-z, 0-9 and _",
                   type, builtin);
        return -1;
    }
    if (!dir || !*dir) {
        diag_error(d, sec->file, line, 0,
                   "type: unknown channel type \"%s\": the built-in types "
                   "are %s; for a plugin, set [channels] plugin_dir to the "
                   "folder of %s.so",
                   type, builtin, type);
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s.so", dir, type);
    if (stat(path, &st) < 0) {
        diag_error(d, sec->file, line, 0,
                   "type: unknown channel type \"%s\": the built-in types "
                   "are %s, and plugin_dir %s has no %s.so (%s)",
                   type, builtin, dir, type, strerror(errno));
        return -1;
    }
    if (!(h = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
        diag_error(d, sec->file, line, 0, "type: cannot load %s: %s", path,
                   dlerror());
        return -1;
    }
    if (!(*drv = dlsym(h, CHAN_PLUGIN_SYMBOL))) {
        diag_error(d, sec->file, line, 0,
                   "type: %s exports no %s: is it a nudge channel plugin?",
                   path, CHAN_PLUGIN_SYMBOL);
        dlclose(h);
        return -1;
    }
    if ((problem = driver_problem(*drv, type, why, sizeof why))) {
        diag_error(d, sec->file, line, 0, "type: %s %s", path, problem);
        *drv = NULL;
        dlclose(h);
        return -1;
    }
    *dl = h;
    return 0;
}

void chan_plugin_close(void *dl)
{
    if (dl)
        dlclose(dl);
}
