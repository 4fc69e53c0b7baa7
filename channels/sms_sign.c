/*
 * sms_sign.c - Aliyun RPC and Tencent TC3 request signatures (see
 * sms_sign.h).
 */
#include "channels/sms_sign.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- shared ------------------------------------------------------------ */

static int is_unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

char *sms_percent_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *o = out;

    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (is_unreserved(*p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

char *sms_base64(const void *in, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);

    if (out)
        EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return out;
}

static void hex_of(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Lower-case hex SHA-256 of n bytes into out[65]. */
static int sha256_hex(const void *in, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (!EVP_Digest(in, n, md, &len, EVP_sha256(), NULL))
        return -1;
    hex_of(md, len, out);
    return 0;
}

/* A printf into a new string. */
static char *str_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    char *out;

    va_start(ap, fmt);
    if (vasprintf(&out, fmt, ap) < 0)
        out = NULL;
    va_end(ap);
    return out;
}

/* --- Aliyun RPC --------------------------------------------------------- */

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const struct sms_kv *)a)->key,
                  ((const struct sms_kv *)b)->key);
}

char *aliyun_canonical_query(struct sms_kv *p, size_t n)
{
    size_t cap = 1, len = 0;
    char *out;

    qsort(p, n, sizeof *p, kv_cmp);
    for (size_t i = 0; i < n; i++)
        cap += 3 * (strlen(p[i].key) + strlen(p[i].value)) + 2;
    if (!(out = malloc(cap)))
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char *k = sms_percent_encode(p[i].key);
        char *v = sms_percent_encode(p[i].value);
        if (!k || !v) {
            free(k);
            free(v);
            free(out);
            return NULL;
        }
        len += (size_t)snprintf(out + len, cap - len, "%s%s=%s", i ? "&" : "",
                                k, v);
        free(k);
        free(v);
    }
    return out;
}

char *aliyun_string_to_sign(const char *method, const char *canonical)
{
    char *enc = sms_percent_encode(canonical), *out;

    if (!enc)
        return NULL;
    out = str_printf("%s&%%2F&%s", method, enc);
    free(enc);
    return out;
}

char *aliyun_signature(const char *secret, const char *string_to_sign)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    char *key = str_printf("%s&", secret), *out = NULL;

    if (key && HMAC(EVP_sha1(), key, (int)strlen(key),
                    (const unsigned char *)string_to_sign,
                    strlen(string_to_sign), md, &len))
        out = sms_base64(md, len);
    if (key) {
        memset(key, 0, strlen(key));
        free(key);
    }
    return out;
}

char *aliyun_signed_query(const char *method, const char *secret,
                          struct sms_kv *p, size_t n)
{
    char *canon = aliyun_canonical_query(p, n), *sts = NULL, *sig = NULL;
    char *enc = NULL, *out = NULL;

    if (canon && (sts = aliyun_string_to_sign(method, canon)) &&
        (sig = aliyun_signature(secret, sts)) &&
        (enc = sms_percent_encode(sig)))
        out = str_printf("%s&Signature=%s", canon, enc);
    free(canon);
    free(sts);
    free(sig);
    free(enc);
    return out;
}

/* --- Tencent TC3 -------------------------------------------------------- */

#define TC3_SIGNED_HEADERS "content-type;host;x-tc-action"

static char *lower(const char *s)
{
    char *out = strdup(s);

    for (char *p = out; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return out;
}

/* The UTC date of the timestamp, "2019-02-25". */
static void tc3_date(int64_t ts, char out[16])
{
    time_t t = (time_t)ts;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

char *tc3_canonical_request(const struct tc3_request *q)
{
    char hash[65], *ct = lower(q->content_type), *host = lower(q->host);
    char *action = lower(q->action), *out = NULL;

    if (ct && host && action && sha256_hex(q->payload, q->len, hash) == 0)
        out = str_printf("POST\n/\n\ncontent-type:%s\nhost:%s\n"
                         "x-tc-action:%s\n\n%s\n%s",
                         ct, host, action, TC3_SIGNED_HEADERS, hash);
    free(ct);
    free(host);
    free(action);
    return out;
}

char *tc3_string_to_sign(const struct tc3_request *q)
{
    char date[16], hash[65], *canon = tc3_canonical_request(q), *out = NULL;

    tc3_date(q->timestamp, date);
    if (canon && sha256_hex(canon, strlen(canon), hash) == 0)
        out = str_printf("TC3-HMAC-SHA256\n%lld\n%s/%s/tc3_request\n%s",
                         (long long)q->timestamp, date, q->service, hash);
    free(canon);
    return out;
}

/* HMAC-SHA256(key, msg) into out[32]. */
static int hmac256(const void *key, size_t klen, const char *msg,
                   unsigned char out[32])
{
    unsigned int len = 0;

    return HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg,
                strlen(msg), out, &len) &&
                   len == 32
               ? 0
               : -1;
}

char *tc3_signature(const struct tc3_request *q)
{
    unsigned char k[32], sig[32];
    char date[16], hex[65], *sts = tc3_string_to_sign(q);
    char *key = str_printf("TC3%s", q->secret_key), *out = NULL;

    tc3_date(q->timestamp, date);
    if (sts && key && hmac256(key, strlen(key), date, k) == 0 &&
        hmac256(k, 32, q->service, k) == 0 &&
        hmac256(k, 32, "tc3_request", k) == 0 &&
        hmac256(k, 32, sts, sig) == 0) {
        hex_of(sig, 32, hex);
        out = strdup(hex);
    }
    if (key) {
        memset(key, 0, strlen(key));
        free(key);
    }
    memset(k, 0, sizeof k);
    free(sts);
    return out;
}

char *tc3_authorization(const struct tc3_request *q)
{
    char date[16], *sig = tc3_signature(q), *out = NULL;

    tc3_date(q->timestamp, date);
    if (sig)
        out =
            str_printf("TC3-HMAC-SHA256 Credential=%s/%s/%s/tc3_request, "
                       "SignedHeaders=%s, Signature=%s",
                       q->secret_id, date, q->service, TC3_SIGNED_HEADERS, sig);
    free(sig);
    return out;
}
