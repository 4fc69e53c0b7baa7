/*
 * set.c - a templates folder, compiled (see tmpl.h): reading the folder,
 * grouping part files by template name, finding a part, reference counts
 * for reloads, and the names each template needs for `nudgectl check`.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "templates/part.h"
#include "templates/tmpl.h"
#include "templates/utf8.h"

/* A part file larger than this is a mistake, not a message. */
#define TMPL_FILE_MAX (256 * 1024)

struct tmpl {
    char *name;
    struct tmpl_part parts[TMPL_NTYPES];
    int has[TMPL_NTYPES];
};

struct tmpl_set {
    struct tmpl *v;
    size_t n, cap;
    int refs;
};

static const char *const type_names[TMPL_NTYPES] = {"sms", "email", "wecom",
                                                    "webhook"};

/* The suffixes, longest first so that .email.html wins over .email. */
static const struct {
    const char *suffix;
    int type; /* TMPL_NTYPES: the HTML part of an email */
} suffixes[] = {
    {".email.html", TMPL_NTYPES}, {".sms", TMPL_SMS},
    {".email", TMPL_EMAIL},       {".wecom", TMPL_WECOM},
    {".webhook", TMPL_WEBHOOK},
};

int tmpl_type_parse(const char *type)
{
    for (int t = 0; t < TMPL_NTYPES; t++)
        if (type && strcmp(type, type_names[t]) == 0)
            return t;
    return -1;
}

const char *tmpl_type_name(enum tmpl_type t)
{
    return (unsigned)t < TMPL_NTYPES ? type_names[t] : "?";
}

/* --- the folder ----------------------------------------------------------- */

/* A file of the folder: its name split into template name and suffix. */
struct entry {
    char *file; /* the name in the folder */
    char *name; /* the template's */
    int type;
};

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->file,
                  ((const struct entry *)b)->file);
}

static int valid_name(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int tmpl_file_type(const char *file, size_t *name_len)
{
    size_t n = strlen(file);

    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t sl = strlen(suffixes[i].suffix);
        if (n > sl && strcmp(file + n - sl, suffixes[i].suffix) == 0) {
            *name_len = n - sl;
            return suffixes[i].type;
        }
    }
    return -1;
}

/* Splits a file name; 1 a part, 0 not a template file. */
static int classify(const char *file, struct entry *e)
{
    size_t len;

    if ((e->type = tmpl_file_type(file, &len)) < 0)
        return 0;
    e->name = strndup(file, len);
    return 1;
}

static int list_folder(const char *dir, struct entry **out, size_t *nout,
                       struct diag *d)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    struct entry *v = NULL, e;
    size_t n = 0;

    if (!dp) {
        diag_error(d, dir, 0, 0, "cannot read the templates folder: %s",
                   strerror(errno));
        return -1;
    }
    while ((de = readdir(dp)) != NULL) {
        const char *f = de->d_name;
        if (f[0] == '.' || f[strlen(f) - 1] == '~')
            continue;
        memset(&e, 0, sizeof e);
        if (!classify(f, &e)) {
            diag_warning(d, dir, 0, 0, "%s is not a template part: use "
                         "NAME.sms, NAME.email, NAME.email.html, NAME.wecom "
                         "or NAME.webhook", f);
            continue;
        }
        struct entry *nv = realloc(v, (n + 1) * sizeof *v);
        if (!nv || !e.name || !(e.file = strdup(f))) {
            free(e.name);
            if (nv)
                v = nv;
            continue;
        }
        v = nv;
        v[n++] = e;
    }
    closedir(dp);
    if (n > 1)
        qsort(v, n, sizeof *v, entry_cmp);
    *out = v;
    *nout = n;
    return 0;
}

static void free_entries(struct entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].file);
        free(v[i].name);
    }
    free(v);
}

/* Reads a part file whole, with the checks every part needs. Returns the
 * text (caller frees) or NULL after an error. */
static char *read_part(const char *path, const char *shown, size_t *len,
                       struct diag *d)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t n, bad;
    int line, col;
    struct tmpl_pos pos = {shown, 1, 1};

    if (!fp) {
        diag_error(d, shown, 0, 0, "cannot read: %s", strerror(errno));
        return NULL;
    }
    if (!(buf = malloc(TMPL_FILE_MAX + 1)))
        goto fail;
    n = fread(buf, 1, TMPL_FILE_MAX + 1, fp);
    if (n > TMPL_FILE_MAX) {
        diag_error(d, shown, 0, 0, "the file is larger than %d bytes: a "
                   "template part is one message", TMPL_FILE_MAX);
        goto fail;
    }
    buf[n] = '\0';
    if (n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) { /* a BOM */
        memmove(buf, buf + 3, n - 2);
        n -= 3;
    }
    if ((bad = strlen(buf)) < n) {
        tmpl_where(buf, bad, &pos, &line, &col);
        diag_error(d, shown, line, col, "NUL byte in the text");
        goto fail;
    }
    if ((bad = tmpl_utf8_invalid_at(buf, n)) < n) {
        tmpl_where(buf, bad, &pos, &line, &col);
        diag_error(d, shown, line, col, "invalid UTF-8 (byte 0x%02x): save "
                   "the file as UTF-8", (unsigned char)buf[bad]);
        goto fail;
    }
    fclose(fp);
    *len = n;
    return buf;
fail:
    fclose(fp);
    free(buf);
    return NULL;
}

/* --- the set ------------------------------------------------------------- */

static struct tmpl *template_of(struct tmpl_set *set, const char *name)
{
    struct tmpl *t;

    if (set->n && strcmp(set->v[set->n - 1].name, name) == 0)
        return &set->v[set->n - 1];
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i].name, name) == 0)
            return &set->v[i];
    if (set->n == set->cap) {
        size_t ncap = set->cap ? set->cap * 2 : 16;
        struct tmpl *nv = realloc(set->v, ncap * sizeof *nv);
        if (!nv)
            return NULL;
        set->v = nv;
        set->cap = ncap;
    }
    t = &set->v[set->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name)))
        return NULL;
    set->n++;
    return t;
}

/* Loads one entry into the set; 0 or -1 after errors. */
static int load_entry(struct tmpl_set *set, const char *dir,
                      const struct entry *e, const struct config *cfg,
                      struct diag *d)
{
    char path[4096];
    struct part_text pt;
    struct tmpl *t;
    struct tmpl_part *part;
    size_t n;
    char *text;
    int rc;

    snprintf(path, sizeof path, "%s/%s", dir, e->file);
    if (!valid_name(e->name, strlen(e->name))) {
        diag_error(d, path, 0, 0, "invalid template name \"%s\": use letters, "
                   "digits, _ and -", e->name);
        return -1;
    }
    if (!(text = read_part(path, path, &n, d)))
        return -1;
    pt.file = path;
    pt.text = text;
    pt.n = n;
    if (!(t = template_of(set, e->name))) {
        free(text);
        return -1;
    }
    if (e->type == TMPL_NTYPES) { /* sorted: NAME.email came first */
        part = &t->parts[TMPL_EMAIL];
        if (!t->has[TMPL_EMAIL])
            diag_error(d, path, 0, 0, "an HTML part needs %s.email beside "
                       "it, with the Subject and the text", e->name);
        rc = t->has[TMPL_EMAIL] ? tmpl_part_add_html(part, &pt, cfg, d) : -1;
    } else {
        part = &t->parts[e->type];
        part->type = (enum tmpl_type)e->type;
        part->name = t->name;
        rc = tmpl_part_parse(part, &pt, cfg, d);
        t->has[e->type] = 1;
    }
    free(text);
    return rc;
}

static int tmpl_cmp(const void *a, const void *b)
{
    return strcmp(((const struct tmpl *)a)->name,
                  ((const struct tmpl *)b)->name);
}

static void set_free(struct tmpl_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        for (int t = 0; t < TMPL_NTYPES; t++)
            tmpl_part_clear(&set->v[i].parts[t]);
        free(set->v[i].name);
    }
    free(set->v);
    free(set);
}

struct tmpl_set *tmpl_set_load(const char *dir, const struct config *cfg,
                               struct diag *d)
{
    struct tmpl_set *set = calloc(1, sizeof *set);
    struct entry *entries = NULL;
    size_t n = 0;
    int errors = 0;

    if (!set || list_folder(dir, &entries, &n, d) < 0) {
        free(set);
        return NULL;
    }
    set->refs = 1;
    for (size_t i = 0; i < n; i++)
        errors += load_entry(set, dir, &entries[i], cfg, d) < 0;
    free_entries(entries, n);
    if (set->n > 1) /* "a" sorts before "a-b", but "a.sms" after "a-b.sms" */
        qsort(set->v, set->n, sizeof *set->v, tmpl_cmp);
    for (size_t i = 0; i < set->n; i++)
        for (int t = 0; t < TMPL_NTYPES; t++)
            set->v[i].parts[t].name = set->v[i].name;
    if (errors) {
        set_free(set);
        return NULL;
    }
    return set;
}

struct tmpl_set *tmpl_set_ref(struct tmpl_set *set)
{
    __atomic_add_fetch(&set->refs, 1, __ATOMIC_RELAXED);
    return set;
}

void tmpl_set_unref(struct tmpl_set *set)
{
    if (set && __atomic_sub_fetch(&set->refs, 1, __ATOMIC_ACQ_REL) == 0)
        set_free(set);
}

/* --- lookups ------------------------------------------------------------- */

static const struct tmpl *find_template(const struct tmpl_set *set,
                                        const char *name)
{
    size_t lo = 0, hi = set->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, set->v[mid].name);
        if (c == 0)
            return &set->v[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct tmpl_part *tmpl_find(const struct tmpl_set *set,
                                  const char *name, const char *type)
{
    int t = tmpl_type_parse(type);
    const struct tmpl *tp;

    if (!set || t < 0 || !(tp = find_template(set, name)) || !tp->has[t])
        return NULL;
    return &tp->parts[t];
}

const char *tmpl_part_file(const struct tmpl_part *part)
{
    return part->file;
}

const char *tmpl_part_name(const struct tmpl_part *part)
{
    return part->name;
}

enum tmpl_type tmpl_part_type(const struct tmpl_part *part)
{
    return part->type;
}

enum msg_class tmpl_part_class(const struct tmpl_part *part)
{
    return part->cls;
}

enum msg_class tmpl_send_class(const struct tmpl_part *part, int to_staff)
{
    if (to_staff)
        return MSG_STAFF;
    return part ? part->cls : MSG_MARKETING; /* no part: the safe side */
}

size_t tmpl_set_count(const struct tmpl_set *set)
{
    return set->n;
}

const char *tmpl_set_name(const struct tmpl_set *set, size_t i)
{
    return set->v[i].name;
}

const struct tmpl_part *tmpl_set_part(const struct tmpl_set *set, size_t i,
                                      enum tmpl_type t)
{
    return set->v[i].has[t] ? &set->v[i].parts[t] : NULL;
}

/* --- what a template needs ------------------------------------------------ */

static int add_refs(const struct tmpl_prog *p, struct strset *required,
                    struct strset *optional)
{
    if (!p)
        return 0;
    for (size_t i = 0; i < p->nrefs; i++) {
        const struct tmpl_ref *r = &p->refs[i];
        struct strset *to = r->use & REF_REQUIRED ? required : optional;
        if (!strset_has(to, r->full) && strset_add(to, r->full) < 0)
            return -1;
        strset_sort(to);
    }
    return 0;
}

int tmpl_set_needs(const struct tmpl_set *set, size_t i,
                   struct strset *required, struct strset *optional)
{
    const struct tmpl *t = &set->v[i];

    for (int k = 0; k < TMPL_NTYPES; k++) {
        const struct tmpl_part *p = &t->parts[k];
        if (!t->has[k])
            continue;
        if (add_refs(p->subject, required, optional) < 0 ||
            add_refs(p->body, required, optional) < 0 ||
            add_refs(p->html, required, optional) < 0)
            return -1;
        for (size_t j = 0; j < p->nparams; j++)
            if (add_refs(p->params[j].value, required, optional) < 0)
                return -1;
    }
    /* A name both required and optional somewhere is required. */
    for (size_t j = 0; j < optional->n;) {
        if (strset_has(required, optional->v[j])) {
            free(optional->v[j]);
            memmove(&optional->v[j], &optional->v[j + 1],
                    (optional->n - j - 1) * sizeof *optional->v);
            optional->n--;
        } else {
            j++;
        }
    }
    return 0;
}
