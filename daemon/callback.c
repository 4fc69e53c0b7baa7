/*
 * callback.c - what the SMS gateway's callbacks share (see callback.h):
 * the secret, compared so that neither the time taken nor the length
 * tells anything; the answer; the counters.
 */
#include "daemon/callback.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

/* Compares digests, so neither the time nor the length tells anything. */
static int same_secret(const char *a, const char *b)
{
    unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *)a, strlen(a), da);
    SHA256((const unsigned char *)b, strlen(b), db);
    return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

int http_token_ok(const char *want, const char *authorization,
                  const char *token)
{
    const char *given = token;

    if (!want || !*want)
        return 1;
    if (authorization && strncasecmp(authorization, "Bearer ", 7) == 0) {
        given = authorization + 7;
        while (*given == ' ')
            given++;
    }
    return given && same_secret(want, given);
}

int callback_answer(enum callback_form form, int status, const char *error,
                    size_t recorded, long unknown, char **out)
{
    json_t *o;

    if (form == FORM_ALIYUN)
        o = json_pack("{s:i, s:s}", "code", status == 200 ? 0 : 1, "msg",
                      status == 200 ? "接收成功" : error);
    else if (status != 200)
        o = json_pack("{s:s}", "error", error);
    else if (unknown >= 0)
        o = json_pack("{s:I, s:I}", "recorded", (json_int_t)recorded, "unknown",
                      (json_int_t)unknown);
    else
        o = json_pack("{s:I}", "recorded", (json_int_t)recorded);
    *out = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return status;
}

struct metric *callback_counter(const char *name, const char *help,
                                const char *result)
{
    char labels[64];

    snprintf(labels, sizeof labels, "result=\"%s\"", result);
    return metric_counter(name, help, labels);
}
