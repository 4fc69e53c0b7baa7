/*
 * test_pacer.c - a channel's delivery queue (channels/pacer.c) in front of
 * a test driver that answers later from a thread of its own, as a real
 * one does: max_in_flight is never passed, the rate is honoured, every
 * message's done() is called exactly once with the driver's outcome, and
 * stopping ends the waiting ones as transient, never sent.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "channels/pacer.h"
#include "core/clock.h"
#include "tests/support/check_run.h"

/* --- a driver that answers after delay_ms, from its own thread ------------ */

#define MAX_OUT 4096

struct out {
    chan_done_fn done;
    void *arg;
    int64_t due_ms;
};

static struct {
    pthread_mutex_t mu;
    struct out v[MAX_OUT];
    int n;             /* submitted */
    int answered;      /* by the answering thread */
    int in_flight, max_seen;
    int64_t delay_ms;
    int quit;
} drv = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void test_submit(void *self, const struct chan_msg *msg,
                        chan_done_fn done, void *arg)
{
    (void)self;
    ck_assert_str_eq(msg->channel, "t");
    pthread_mutex_lock(&drv.mu);
    drv.v[drv.n++] = (struct out){done, arg, clock_mono_ms() + drv.delay_ms};
    if (++drv.in_flight > drv.max_seen)
        drv.max_seen = drv.in_flight;
    pthread_mutex_unlock(&drv.mu);
}

static void *answering(void *arg)
{
    (void)arg;
    while (!drv.quit) {
        pthread_mutex_lock(&drv.mu);
        while (drv.answered < drv.n &&
               drv.v[drv.answered].due_ms <= clock_mono_ms()) {
            struct out o = drv.v[drv.answered++];
            struct chan_result res = {0};
            drv.in_flight--;
            pthread_mutex_unlock(&drv.mu);
            snprintf(res.provider_id, sizeof res.provider_id, "p%d",
                     drv.answered);
            o.done(o.arg, &res);
            pthread_mutex_lock(&drv.mu);
        }
        pthread_mutex_unlock(&drv.mu);
        clock_sleep_ms(1, NULL);
    }
    return NULL;
}

static const struct chan_driver test_driver = {
    .abi_version = CHAN_ABI_VERSION,
    .type = "test",
    .submit = test_submit,
};

/* --- what came back ------------------------------------------------------- */

static atomic_int oks, transients, twice;
static atomic_int seen[MAX_OUT];

static void on_done(void *arg, const struct chan_result *res)
{
    int i = (int)(intptr_t)arg;

    if (atomic_fetch_add(&seen[i], 1) > 0)
        atomic_fetch_add(&twice, 1);
    if (res->status == CHAN_OK)
        atomic_fetch_add(&oks, 1);
    else if (res->status == CHAN_TRANSIENT)
        atomic_fetch_add(&transients, 1);
}

static struct channel ch = {.name = "t", .type = "test", .as = "sms",
                            .drv = &test_driver};
static pthread_t answerer;

static void setup(void)
{
    pthread_mutex_lock(&drv.mu);
    drv.n = drv.answered = drv.in_flight = drv.max_seen = 0;
    drv.quit = 0;
    pthread_mutex_unlock(&drv.mu);
    atomic_store(&oks, 0);
    atomic_store(&transients, 0);
    atomic_store(&twice, 0);
    for (int i = 0; i < MAX_OUT; i++)
        atomic_store(&seen[i], 0);
    ck_assert_int_eq(pthread_create(&answerer, NULL, answering, NULL), 0);
}

static void teardown(void)
{
    drv.quit = 1;
    pthread_join(answerer, NULL);
}

static void submit_n(struct pacer *p, int n)
{
    struct chan_msg m = {.to = "+8613800000000", .body = "hi", .step = -1};

    for (int i = 0; i < n; i++) {
        m.channel = "t";
        ck_assert_int_eq(pacer_submit(p, &m, on_done, (void *)(intptr_t)i), 0);
    }
}

static int wait_oks(int want, int64_t ms)
{
    int64_t end = clock_mono_ms() + ms;

    while (atomic_load(&oks) < want && clock_mono_ms() < end)
        clock_sleep_ms(2, NULL);
    return atomic_load(&oks);
}

/* 1000 messages, 50 ms each, at most 100 out: about 0.5 s, never more
 * than 100 at the driver, each answered once. */
START_TEST(test_max_in_flight)
{
    struct pacer *p = pacer_new(&ch, 100, 0);
    int64_t t0 = clock_mono_ms();

    drv.delay_ms = 50;
    ck_assert_ptr_nonnull(p);
    submit_n(p, 1000);
    ck_assert_int_eq(wait_oks(1000, 5000), 1000);
    ck_assert_int_le(drv.max_seen, 100);
    ck_assert_int_ge(drv.max_seen, 90); /* and it does fill the slots */
    ck_assert_int_ge(clock_mono_ms() - t0, 450);
    ck_assert_int_eq(atomic_load(&twice), 0);
    pacer_free(p);
}
END_TEST

/* rate = 200/s: 150 messages take at least (150 - burst) / 200 s. */
START_TEST(test_rate)
{
    double rate;
    struct pacer *p;
    int64_t t0;

    ck_assert_int_eq(pacer_rate_parse("200/s", &rate), 0);
    p = pacer_new(&ch, 1000, rate);
    drv.delay_ms = 0;
    t0 = clock_mono_ms();
    submit_n(p, 150);
    ck_assert_int_eq(wait_oks(150, 5000), 150);
    ck_assert_int_ge(clock_mono_ms() - t0, (150 - 10) * 1000 / 200 - 20);
    ck_assert_int_le(clock_mono_ms() - t0, 2000);
    pacer_free(p);
}
END_TEST

/* Stopping with messages waiting: each ends once, as transient. */
START_TEST(test_stop_fails_waiting)
{
    struct pacer *p = pacer_new(&ch, 10, 0);

    drv.delay_ms = 100;
    submit_n(p, 200);
    clock_sleep_ms(20, NULL);
    pacer_stop(p);
    ck_assert_int_eq(atomic_load(&transients), 190);
    ck_assert_int_eq(wait_oks(10, 2000), 10);
    ck_assert_int_eq(pacer_submit(p, &(struct chan_msg){.step = -1}, on_done,
                                  (void *)(intptr_t)300),
                     -1);
    ck_assert_int_eq(atomic_load(&twice), 0);
    pacer_free(p);
}
END_TEST

/* Rates as the config writes them. */
static const struct {
    const char *text;
    int ok;
    double per_s;
} rates[] = {
    {"50/s", 0, 50},
    {"3000/m", 0, 50},
    {"36000/h", 0, 10},
    {"0.5/s", 0, 0.5},
    /* errors */
    {"50", -1, 0},
    {"50/d", -1, 0},
    {"-5/s", -1, 0},
    {"/s", -1, 0},
    {"0/s", -1, 0},
};

START_TEST(test_rate_parse)
{
    double v = 0;

    ck_assert_int_eq(pacer_rate_parse(rates[_i].text, &v), rates[_i].ok);
    if (rates[_i].ok == 0)
        ck_assert_double_eq_tol(v, rates[_i].per_s, 1e-9);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = check_suite("pacer", &tc);

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_max_in_flight);
    tcase_add_test(tc, test_rate);
    tcase_add_test(tc, test_stop_fails_waiting);
    tcase_add_loop_test(tc, test_rate_parse, 0, sizeof rates / sizeof rates[0]);
    return check_run(s);
}
