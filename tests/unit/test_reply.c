/*
 * test_reply.c - hiredis replies built from the blocks each thread keeps in
 * core/reply.c: every kind of reply reads the same as hiredis's own
 * objects, round after round of reuse; blocks of any origin are kept
 * where they fit; a reply cut short, or freed on another thread, is
 * freed whole. Run under the sanitizers, a block reused for more than
 * it holds, or a piece lost, fails the run.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/reply.h"
#include "tests/support/check_run.h"

/* A context that is never connected: only its reader is used. */
static redisContext *reader_context(int pooled)
{
    redisContext *c = calloc(1, sizeof *c);

    ck_assert_ptr_nonnull(c);
    c->reader = redisReaderCreate();
    ck_assert_ptr_nonnull(c->reader);
    if (pooled)
        reply_pool_attach(c);
    return c;
}

static void context_free(redisContext *c)
{
    redisReaderFree(c->reader);
    free(c);
}

static redisReply *parse(redisContext *c, const char *wire, size_t n)
{
    void *r = NULL;

    ck_assert_int_eq(redisReaderFeed(c->reader, wire, n), REDIS_OK);
    ck_assert_int_eq(redisReaderGetReply(c->reader, &r), REDIS_OK);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* A string of n bytes, each telling its place ("a".."z" over and over). */
static char *pattern(size_t n)
{
    char *s = malloc(n + 1);

    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + i % 26);
    s[n] = '\0';
    return s;
}

/* Sizes around every class edge (16 to 512 bytes) and past the last. */
static const size_t sizes[] = {0,   1,   15,  16,  17,  31,  32,  33,
                               63,  64,  65,  127, 128, 129, 255, 256,
                               257, 511, 512, 513, 1023, 1024, 5000};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* One array of every string size, an integer, a nil, a status, an error,
 * an empty array, a nil array and an array of 70 elements. */
static char *wire_of_everything(size_t *len)
{
    size_t cap = 64 * 1024, n = 0;
    char *w = malloc(cap);

    n += (size_t)sprintf(w + n, "*%zu\r\n", NSIZES + 7);
    for (size_t i = 0; i < NSIZES; i++) {
        char *s = pattern(sizes[i]);
        n += (size_t)sprintf(w + n, "$%zu\r\n%s\r\n", sizes[i], s);
        free(s);
    }
    n += (size_t)sprintf(w + n, ":-42\r\n$-1\r\n+OK\r\n-ERR no\r\n*0\r\n"
                                "*-1\r\n*70\r\n");
    for (int i = 0; i < 70; i++)
        n += (size_t)sprintf(w + n, ":%d\r\n", i);
    *len = n;
    return w;
}

static void check_everything(const redisReply *r)
{
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    ck_assert_uint_eq(r->elements, NSIZES + 7);
    for (size_t i = 0; i < NSIZES; i++) {
        char *s = pattern(sizes[i]);
        ck_assert_int_eq(r->element[i]->type, REDIS_REPLY_STRING);
        ck_assert_uint_eq(r->element[i]->len, sizes[i]);
        ck_assert_int_eq(memcmp(r->element[i]->str, s, sizes[i] + 1), 0);
        free(s);
    }
}

START_TEST(test_every_kind_read_again_and_again)
{
    redisContext *c = reader_context(1);
    size_t len;
    char *wire = wire_of_everything(&len);

    for (int round = 0; round < 4; round++) {
        redisReply *r = parse(c, wire, len);
        const redisReply *const *e = (const redisReply *const *)r->element;
        check_everything(r);
        ck_assert_int_eq(e[NSIZES]->type, REDIS_REPLY_INTEGER);
        ck_assert_int_eq(e[NSIZES]->integer, -42);
        ck_assert_int_eq(e[NSIZES + 1]->type, REDIS_REPLY_NIL);
        ck_assert_int_eq(e[NSIZES + 2]->type, REDIS_REPLY_STATUS);
        ck_assert_str_eq(e[NSIZES + 2]->str, "OK");
        ck_assert_int_eq(e[NSIZES + 3]->type, REDIS_REPLY_ERROR);
        ck_assert_str_eq(e[NSIZES + 3]->str, "ERR no");
        ck_assert_int_eq(e[NSIZES + 4]->type, REDIS_REPLY_ARRAY);
        ck_assert_uint_eq(e[NSIZES + 4]->elements, 0);
        ck_assert_int_eq(e[NSIZES + 5]->type, REDIS_REPLY_NIL);
        ck_assert_uint_eq(e[NSIZES + 6]->elements, 70);
        ck_assert_int_eq(e[NSIZES + 6]->element[69]->integer, 69);
        reply_free(r);
    }
    free(wire);
    context_free(c);
}
END_TEST

/* Blocks of hiredis's own replies (sized to their contents, each string
 * a block apart from its object) are kept in the class they hold, and
 * pooled replies read after them fit. */
START_TEST(test_blocks_of_any_origin_fit)
{
    redisContext *plain = reader_context(0), *pooled = reader_context(1);
    size_t len;
    char *wire = wire_of_everything(&len);

    for (int round = 0; round < 3; round++) {
        reply_free(parse(plain, wire, len));
        redisReply *r = parse(pooled, wire, len);
        check_everything(r);
        reply_free(r);
    }
    reply_free(NULL);
    free(wire);
    context_free(plain);
    context_free(pooled);
}
END_TEST

/* A reply cut short by a protocol error is freed by the reader with its
 * unset elements (zeroed, or the free would follow garbage). */
START_TEST(test_cut_short_freed_whole)
{
    static const char bad[] = "*3\r\n$3\r\nabc\r\n*2\r\n:1\r\n?oops\r\n";
    redisContext *c = reader_context(1);
    void *r = NULL;

    for (int round = 0; round < 3; round++) {
        redisReader *rd = c->reader;
        ck_assert_int_eq(redisReaderFeed(rd, bad, sizeof bad - 1), REDIS_OK);
        ck_assert_int_eq(redisReaderGetReply(rd, &r), REDIS_ERR);
        ck_assert_ptr_null(r);
        redisReaderFree(rd);
        c->reader = redisReaderCreate();
        reply_pool_attach(c);
    }
    context_free(c);
}
END_TEST

static void *free_on_this_thread(void *r)
{
    reply_free(r); /* kept in this thread's lists, freed at its exit */
    return NULL;
}

START_TEST(test_freed_on_another_thread)
{
    redisContext *c = reader_context(1);
    size_t len;
    char *wire = wire_of_everything(&len);

    for (int round = 0; round < 3; round++) {
        pthread_t t;
        redisReply *r = parse(c, wire, len);
        check_everything(r);
        ck_assert_int_eq(pthread_create(&t, NULL, free_on_this_thread, r), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
    }
    free(wire);
    context_free(c);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("reply", &tc);

    tcase_add_test(tc, test_every_kind_read_again_and_again);
    tcase_add_test(tc, test_blocks_of_any_origin_fit);
    tcase_add_test(tc, test_cut_short_freed_whole);
    tcase_add_test(tc, test_freed_on_another_thread);
    return check_run(s);
}
