/*
 * tmpl_render.c - renders per second of the template engine on one core,
 * for bench/bench_templates.sh: the SMS part, the HTML part alone and the
 * whole MIME email of bench/tmpl/, for the student of bench/tmpl_data.json
 * (the same template and data mustache renders in bench/tmpl_mustache.js).
 *
 * usage: tmpl_render DIR DATA.json SECONDS RUNS
 * Prints "NAME median-renders/s run1 run2 ..." per measure, after one
 * warm-up run.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "templates/compile.h"
#include "templates/render.h"
#include "templates/tmpl.h"

struct bench {
    const struct tmpl_set *set;
    struct tmpl_prog *html; /* the HTML file compiled on its own */
    struct tmpl_ctx ctx;
    struct tmpl_out out;
    struct tbuf buf;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The values, as message.c looks them up. */
static const char *lookup(void *arg, const struct tmpl_ref *ref)
{
    const struct tmpl_ctx *ctx = arg;

    switch (ref->ns) {
    case NS_STUDENT:
        return student_get(ctx->student, ref->key);
    case NS_OWNER:
        return staff_get(ctx->owner, ref->key);
    case NS_SCHOOL:
        return attrs_get(&ctx->cfg->school, ref->key);
    default:
        return NULL;
    }
}

static int render_sms(struct bench *b)
{
    return tmpl_render(tmpl_find(b->set, "bench", "sms"), &b->ctx, &b->out);
}

static int render_html(struct bench *b)
{
    char why[256];

    b->buf.len = 0;
    return tmpl_exec(b->html, ESC_HTML, lookup, &b->ctx, &b->buf, why,
                     sizeof why);
}

static int render_mime(struct bench *b)
{
    return tmpl_render(tmpl_find(b->set, "bench", "email"), &b->ctx, &b->out);
}

/* Renders for about secs seconds; returns renders per second. */
static double measure(int (*fn)(struct bench *), struct bench *b, double secs)
{
    double start = now(), elapsed;
    long n = 0;

    do {
        for (int i = 0; i < 1000; i++)
            if (fn(b) != TMPL_OK) {
                fprintf(stderr, "tmpl_render: render failed: %s\n",
                        b->out.err);
                exit(1);
            }
        n += 1000;
        elapsed = now() - start;
    } while (elapsed < secs);
    return (double)n / elapsed;
}

static int by_value(const void *x, const void *y)
{
    double a = *(const double *)x, c = *(const double *)y;
    return a < c ? -1 : a > c;
}

static void run(const char *name, int (*fn)(struct bench *), struct bench *b,
                double secs, int runs)
{
    double r[64] = {0}, sorted[64];
    const char *only = getenv("TMPL_BENCH_ONLY"); /* for profiling */

    if (only && strcmp(only, name) != 0)
        return;
    measure(fn, b, secs / 4); /* warm-up */
    for (int i = 0; i < runs; i++)
        r[i] = measure(fn, b, secs);
    memcpy(sorted, r, sizeof r);
    qsort(sorted, (size_t)runs, sizeof *sorted, by_value);
    printf("%s %.0f", name, sorted[runs / 2]);
    for (int i = 0; i < runs; i++)
        printf(" %.0f", r[i]);
    printf("\n");
    fflush(stdout);
}

/* The student, owner and school of the JSON data. */
static void load_data(const char *path, struct student *s, struct staff *o,
                      struct config *cfg)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err), *v;
    const char *key;

    if (!root) {
        fprintf(stderr, "tmpl_render: %s: %s\n", path, err.text);
        exit(2);
    }
    json_object_foreach(root, key, v) {
        if (json_is_string(v))
            attrs_set(&s->attrs, key, json_string_value(v));
    }
    json_object_foreach(json_object_get(root, "owner"), key, v)
        attrs_set(&o->attrs, key, json_string_value(v));
    json_object_foreach(json_object_get(root, "school"), key, v)
        attrs_set(&cfg->school, key, json_string_value(v));
    student_seal(s);
    attrs_sort(&o->attrs);
    attrs_sort(&cfg->school);
    json_decref(root);
}

static struct tmpl_prog *compile_file(const char *path, struct config *cfg)
{
    static char text[65536];
    struct tmpl_pos pos = {path, 1, 1};
    struct diag d = {0};
    struct tmpl_prog *p;
    FILE *fp = fopen(path, "r");
    size_t n = fp ? fread(text, 1, sizeof text, fp) : 0;

    if (fp)
        fclose(fp);
    if (!(p = tmpl_compile(text, n, &pos, &cfg->school, &d))) {
        diag_print(&d, stderr);
        exit(2);
    }
    return p;
}

int main(int argc, char **argv)
{
    struct config cfg;
    struct diag d = {0};
    struct bench b;
    struct student *s = student_new("42");
    struct staff *o = staff_new("t1");
    char path[4096];

    if (argc != 5) {
        fprintf(stderr, "usage: tmpl_render DIR DATA.json SECONDS RUNS\n");
        return 2;
    }
    memset(&b, 0, sizeof b);
    config_defaults(&cfg);
    cfg.templates.unsubscribe_secret = strdup("bench-secret");
    load_data(argv[2], s, o, &cfg);
    if (!(b.set = tmpl_set_load(argv[1], &cfg, &d))) {
        diag_print(&d, stderr);
        return 2;
    }
    snprintf(path, sizeof path, "%s/bench.email.html", argv[1]);
    b.html = compile_file(path, &cfg);
    b.ctx = (struct tmpl_ctx){.student = s, .owner = o, .cfg = &cfg,
                              .from = "招生办 <admissions@example.edu>"};
    tmpl_out_init(&b.out);
    double secs = atof(argv[3]);
    int runs = atoi(argv[4]);
    if (runs < 1 || runs > 64)
        runs = 5;
    render_sms(&b);
    printf("sms_chars %zu segments %d\n", b.out.msg.sms.chars,
           b.out.msg.sms.segments);
    render_html(&b);
    render_mime(&b);
    printf("html_bytes %zu mime_bytes %zu\n", b.buf.len, strlen(b.out.msg.mime));
    run("sms", render_sms, &b, secs, runs);
    run("html", render_html, &b, secs, runs);
    run("mime", render_mime, &b, secs, runs);
    tmpl_out_free(&b.out);
    tbuf_free(&b.buf);
    tmpl_prog_free(b.html);
    tmpl_set_unref((struct tmpl_set *)b.set);
    student_free(s);
    staff_free(o);
    config_free(&cfg);
    diag_clear(&d);
    return 0;
}
