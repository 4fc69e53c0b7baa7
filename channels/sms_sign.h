/*
 * sms_sign.h - the request signatures of the SMS providers, each tested
 * against the worked example of the provider's own documentation
 * (tests/unit/test_sms_sign.c):
 *
 *   Aliyun RPC (Dysms SendSms): Base64(HMAC-SHA1(secret + "&",
 *       METHOD & "%2F" & percent(sorted, percent-encoded query)))
 *   Tencent Cloud API 3.0 (SMS SendSms): TC3-HMAC-SHA256 over a canonical
 *       request (method, "/", "", the signed headers content-type, host
 *       and x-tc-action, the payload's SHA-256), with a key derived from
 *       the secret, the date, the service and "tc3_request".
 *
 * Pure functions over strings; libcrypto for the digests. Every string
 * returned is new and the caller frees it; NULL means out of memory.
 * Secrets pass through here and go nowhere else.
 */
#ifndef NUDGE_SMS_SIGN_H
#define NUDGE_SMS_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* --- shared ------------------------------------------------------------ */
/* RFC 3986 percent-encoding as Aliyun's signature wants it: A-Z a-z 0-9
 * - _ . ~ stay, every other byte is %XY (upper-case hex), a space %20. */
char *sms_percent_encode(const char *s);
/* Base64 of n bytes (standard alphabet, padded). */
char *sms_base64(const void *in, size_t n);

/* --- Aliyun RPC, HMAC-SHA1 ---------------------------------------------- */
struct sms_kv {
    const char *key, *value;
};

/* The canonicalised query string: p sorted by key (in place), each key and
 * value percent-encoded, "k=v" joined by "&". */
char *aliyun_canonical_query(struct sms_kv *p, size_t n);
/* METHOD + "&%2F&" + percent(canonical). */
char *aliyun_string_to_sign(const char *method, const char *canonical);
/* Base64(HMAC-SHA1(secret + "&", string_to_sign)). */
char *aliyun_signature(const char *secret, const char *string_to_sign);
/* The whole signed query: the canonical query + "&Signature=" + the
 * percent-encoded signature (the body of a POST, or what follows "?"). */
char *aliyun_signed_query(const char *method, const char *secret,
                          struct sms_kv *p, size_t n);

/* --- Tencent Cloud API 3.0, TC3-HMAC-SHA256 ----------------------------- */
struct tc3_request {
    const char *secret_id, *secret_key;
    const char *service;      /* "sms" (the product's domain prefix) */
    const char *host;         /* the Host header as sent */
    const char *action;       /* X-TC-Action, e.g. "SendSms" */
    const char *content_type; /* as sent: "application/json; charset=utf-8" */
    int64_t timestamp;        /* X-TC-Timestamp, UNIX seconds */
    const char *payload;      /* the POST body */
    size_t len;
};

/* The steps of the signature, for the tests. */
char *tc3_canonical_request(const struct tc3_request *q);
char *tc3_string_to_sign(const struct tc3_request *q);
char *tc3_signature(const struct tc3_request *q); /* lower-case hex */
/* The Authorization header's value: "TC3-HMAC-SHA256 Credential=ID/DATE/
 * SERVICE/tc3_request, SignedHeaders=content-type;host;x-tc-action,
 * Signature=HEX". */
char *tc3_authorization(const struct tc3_request *q);

#endif
