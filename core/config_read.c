/*
 * config_read.c - what the rest of nudge reads of a loaded config (see
 * config.h), beside the typed settings of struct config: paths relative
 * to the config file's folder, secrets given as env:NAME or file:PATH
 * (never logged), and the sections a part owns itself (a channel's
 * [channel.NAME]: its keys, and which of them nobody read, which are
 * errors). config.c loads; this reads.
 */
#include "core/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *config_path(const struct config *cfg, const char *value)
{
    char *out;

    if (value[0] == '/' || !cfg->dir || strcmp(cfg->dir, ".") == 0)
        return strdup(value);
    if (asprintf(&out, "%s/%s", cfg->dir, value) < 0)
        return NULL;
    return out;
}

static char *read_secret_file(const char *path, char *err, size_t errlen)
{
    char buf[4096];
    size_t n;
    FILE *fp = fopen(path, "r");

    if (!fp) {
        snprintf(err, errlen, "cannot read secret file %s: %s", path,
                 strerror(errno));
        return NULL;
    }
    n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    char *out = strdup(buf);
    explicit_bzero(buf, sizeof buf);
    return out;
}

char *config_secret(const struct config *cfg, const char *value, char *err,
                    size_t errlen)
{
    if (strncmp(value, "env:", 4) == 0) {
        const char *v = getenv(value + 4);
        if (!v) {
            snprintf(err, errlen, "environment variable %s is not set",
                     value + 4);
            return NULL;
        }
        return strdup(v);
    }
    if (strncmp(value, "file:", 5) == 0) {
        char *path = config_path(cfg, value + 5), *out;
        if (!path)
            return NULL;
        out = read_secret_file(path, err, errlen);
        free(path);
        return out;
    }
    return strdup(value);
}

struct conf_section *config_channel(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nchannels; i++)
        if (strcmp(cfg->channels[i].name, name) == 0)
            return &cfg->channels[i];
    return NULL;
}

static struct conf_kv *section_find(const struct conf_section *s,
                                    const char *key)
{
    for (size_t i = 0; i < s->nkv; i++)
        if (strcmp(s->kv[i].key, key) == 0)
            return &s->kv[i];
    return NULL;
}

const char *conf_section_get(struct conf_section *s, const char *key)
{
    struct conf_kv *kv = section_find(s, key);

    if (!kv)
        return NULL;
    kv->used = 1;
    return kv->value;
}

const char *conf_section_peek(const struct conf_section *s, const char *key)
{
    struct conf_kv *kv = section_find(s, key);

    return kv ? kv->value : NULL;
}

int conf_section_line(const struct conf_section *s, const char *key)
{
    for (size_t i = 0; i < s->nkv; i++)
        if (strcmp(s->kv[i].key, key) == 0)
            return s->kv[i].line;
    return s->line;
}

int conf_section_unused(const struct conf_section *s, struct diag *d)
{
    int n = 0;

    for (size_t i = 0; i < s->nkv; i++) {
        if (!s->kv[i].used) {
            diag_error(d, s->file, s->kv[i].line, 0,
                       "unknown key \"%s\" in [channel.%s]", s->kv[i].key,
                       s->name);
            n++;
        }
    }
    return n;
}
