/*
 * sms.c - the sms channel driver (see sms.h): what every form shares. It
 * checks the number, has the form write the request, sends it through
 * httpc and classes the answer: first what transport and HTTP status say
 * (httpc_classify()), then the provider's own code, which the form reads.
 */
#include "channels/sms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/e164.h"
#include "channels/httpc.h"
#include "channels/sms_form.h"
#include "core/clock.h"
#include "core/mask.h"

static const struct sms_form *const forms[] = {
    &sms_form_generic,
    &sms_form_aliyun,
    &sms_form_tencent,
};

struct sms {
    const struct sms_form *form;
    void *conf; /* the form's settings */
    struct httpc *http;
};

/* One message in flight. */
struct sms_job {
    struct sms *sms;
    chan_done_fn done;
    void *arg;
};

static const struct sms_form *form_find(const char *name)
{
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        if (strcmp(forms[i]->name, name) == 0)
            return forms[i];
    return NULL;
}

static void sms_free(struct sms *s)
{
    if (!s)
        return;
    if (s->http)
        httpc_free(s->http);
    if (s->conf)
        s->form->free(s->conf);
    free(s);
}

static void *sms_init(const struct chan_conf *cc, struct conf_section *sec,
                      const struct config *cfg, struct diag *d)
{
    const char *name = conf_section_get(sec, "form");
    struct sms *s;
    char err[256];

    if (!name || !*name)
        name = "generic";
    if (!(s = calloc(1, sizeof *s)))
        return NULL;
    if (!(s->form = form_find(name))) {
        diag_error(d, sec->file, conf_section_line(sec, "form"), 0,
                   "form: unknown sms form \"%s\": use generic, aliyun or "
                   "tencent",
                   name);
        goto fail;
    }
    if (!(s->conf = s->form->init(sec, cfg, d)))
        goto fail;
    if (!(s->http = httpc_new(cc, err, sizeof err))) {
        diag_error(d, sec->file, sec->line, 0,
                   "[channel.%s]: cannot start its HTTP client: %s", sec->name,
                   err);
        goto fail;
    }
    return s;
fail:
    sms_free(s);
    return NULL;
}

/* 32 hex digits from the kernel's random source: Aliyun's SignatureNonce
 * must never repeat. */
static void make_nonce(char out[33])
{
    static unsigned long counter;
    unsigned char b[16];

    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* no entropy yet (early boot): time and a counter still differ */
        unsigned long n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
        int64_t t = clock_mono_ms();
        memcpy(b, &t, sizeof t);
        memcpy(b + 8, &n, sizeof n < 8 ? sizeof n : 8);
    }
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Classes the answer: transport and HTTP first, then the provider. */
static void on_answer(void *arg, const struct httpc_resp *r)
{
    struct sms_job *job = arg;
    const struct sms_form *form = job->sms->form;
    struct chan_result res = {0}, ans = {0};
    enum chan_status cls = httpc_classify(r, &res);
    char masked[sizeof res.error];

    if (r->curl_code == 0 &&
        form->answer(job->sms->conf, r->status, r->body, &ans)) {
        ans.retry_after_ms =
            ans.status == CHAN_TRANSIENT ? r->retry_after_ms : 0;
        res = ans;
    } else if (cls == CHAN_OK) {
        /* a 2xx that is no provider answer (a proxy's page?): the
         * provider may or may not have the message */
        chan_result_fail(&res, CHAN_UNKNOWN, "unreadable",
                         "%s: HTTP %ld without a %s answer", form->name,
                         r->status, form->name);
    }
    mask_text(res.error, masked, sizeof masked);
    memcpy(res.error, masked, sizeof res.error);
    job->done(job->arg, &res);
    free(job);
}

/* The request's HTTP form, for httpc; NULL on no memory. */
static struct httpc_req *to_httpc(const struct sms_http *h)
{
    struct httpc_req *q = httpc_req_new("POST", h->url);

    if (!q)
        return NULL;
    for (size_t i = 0; i < h->nheaders; i++)
        if (httpc_req_header(q, "%s", h->headers[i]) < 0)
            goto fail;
    if (httpc_req_body(q, h->body, h->len) < 0)
        goto fail;
    return q;
fail:
    httpc_req_free(q);
    return NULL;
}

static void refuse_number(const struct chan_msg *m, struct chan_result *res)
{
    char masked[64];

    if (!m->to || !*m->to) {
        chan_result_fail(res, CHAN_PERMANENT, "invalid_number",
                         "no phone number");
        return;
    }
    mask_contact(m->to, masked, sizeof masked);
    chan_result_fail(res, CHAN_PERMANENT, "invalid_number",
                     "invalid phone number %s: use E.164 (+8613812345678) "
                     "or a mainland mobile number",
                     masked);
}

static void sms_submit(void *self, const struct chan_msg *m, chan_done_fn done,
                       void *arg)
{
    struct sms *s = self;
    struct chan_result res = {0};
    struct sms_http h = {0};
    struct httpc_req *q = NULL;
    struct sms_job *job = NULL;
    struct sms_send send;
    char to[E164_MAX], nonce[33];

    if (!m->to || e164_normalise(m->to, to) < 0) {
        refuse_number(m, &res);
        goto out;
    }
    make_nonce(nonce);
    send = (struct sms_send){m, to, clock_now_ms() / 1000, nonce};
    if (s->form->request(s->conf, &send, &h, &res) < 0)
        goto out;
    if (!(job = malloc(sizeof *job)) || !(q = to_httpc(&h))) {
        chan_result_fail(&res, CHAN_TRANSIENT, "ENOMEM", "out of memory");
        goto out;
    }
    *job = (struct sms_job){s, done, arg};
    q->done = on_answer;
    q->arg = job;
    sms_http_free(&h);
    if (httpc_submit(s->http, q) < 0) {
        free(job);
        chan_result_fail(&res, CHAN_TRANSIENT, "closing",
                         "the channel is closing");
        done(arg, &res);
    }
    return;
out:
    free(job);
    sms_http_free(&h);
    done(arg, &res);
}

static void sms_close(void *self)
{
    sms_free(self);
}

const struct chan_driver chan_sms = {
    .abi_version = CHAN_ABI_VERSION,
    .type = "sms",
    .caps = CHAN_CAP_PROVIDER_TEMPLATES | CHAN_CAP_RECEIPTS,
    .init = sms_init,
    .submit = sms_submit,
    .close = sms_close,
};
