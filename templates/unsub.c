/*
 * unsub.c - signed unsubscribe links (see unsub.h).
 *
 * Every email signs one link, so the HMAC is on the hot path of rendering:
 * OpenSSL 3's one-shot HMAC() looks the digest up in its provider tables
 * (a lock and some allocations, about a microsecond) each time. Instead
 * each thread keeps the SHA-256 states after the key's inner and outer
 * pads (RFC 2104) and only hashes the message: the low-level SHA256_*
 * functions, deprecated in OpenSSL 3 for new code but kept and exact,
 * hold that state in a plain struct.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "templates/unsub.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>

#define BLOCK 64 /* SHA-256's block */

/* The keyed states of the last secret this thread used. */
#define KEEP_MAX 128 /* longer secrets are keyed again each time */

struct hmac_key {
    char secret[KEEP_MAX + 1]; /* the secret the states belong to */
    int ready;
    SHA256_CTX inner, outer;
};

static __thread struct hmac_key tkey;

static void hmac_prepare(struct hmac_key *k, const char *secret, size_t n)
{
    unsigned char key[BLOCK] = {0}, pad[BLOCK];

    if (n > BLOCK)
        SHA256((const unsigned char *)secret, n, key);
    else
        memcpy(key, secret, n);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = key[i] ^ 0x36;
    SHA256_Init(&k->inner);
    SHA256_Update(&k->inner, pad, BLOCK);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = key[i] ^ 0x5c;
    SHA256_Init(&k->outer);
    SHA256_Update(&k->outer, pad, BLOCK);
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(pad, sizeof pad);
    k->ready = 1;
}

/* HMAC-SHA256(secret, data) into md (32 bytes). */
static void hmac_sha256(const char *secret, const void *data, size_t n,
                        unsigned char md[SHA256_DIGEST_LENGTH])
{
    unsigned char inner[SHA256_DIGEST_LENGTH];
    size_t slen = strlen(secret);
    SHA256_CTX c;

    if (!tkey.ready || slen > KEEP_MAX || strcmp(secret, tkey.secret) != 0) {
        hmac_prepare(&tkey, secret, slen);
        memcpy(tkey.secret, secret, slen <= KEEP_MAX ? slen + 1 : 1);
        tkey.ready = slen <= KEEP_MAX;
    }
    c = tkey.inner;
    SHA256_Update(&c, data, n);
    SHA256_Final(inner, &c);
    c = tkey.outer;
    SHA256_Update(&c, inner, sizeof inner);
    SHA256_Final(md, &c);
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void base64url(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i;

    for (i = 0; i + 2 < n; i += 3) {
        out[o++] = b64url[in[i] >> 2];
        out[o++] = b64url[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
        out[o++] = b64url[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
        out[o++] = b64url[in[i + 2] & 63];
    }
    if (n - i == 1) {
        out[o++] = b64url[in[i] >> 2];
        out[o++] = b64url[(in[i] & 3) << 4];
    } else if (n - i == 2) {
        out[o++] = b64url[in[i] >> 2];
        out[o++] = b64url[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
        out[o++] = b64url[(in[i + 1] & 15) << 2];
    }
    out[o] = '\0';
}

int tmpl_unsub_token(const char *secret, const char *student, const char *channel,
                char out[UNSUB_TOKEN_LEN + 1])
{
    static const char head[] = "nudge-unsub-v1\n";
    unsigned char md[SHA256_DIGEST_LENGTH];
    char data[512];
    size_t hl = sizeof head - 1, sl, cl;

    if (!secret || !*secret)
        return -1;
    /* "nudge-unsub-v1\nSTUDENT\nCHANNEL", put together by hand: every
     * email signs one, and printf's cost showed. */
    sl = strlen(student);
    cl = strlen(channel);
    if (hl + sl + 1 + cl >= sizeof data)
        return -1;
    memcpy(data, head, hl);
    memcpy(data + hl, student, sl);
    data[hl + sl] = '\n';
    memcpy(data + hl + sl + 1, channel, cl);
    hmac_sha256(secret, data, hl + sl + 1 + cl, md);
    base64url(md, sizeof md, out);
    return 0;
}

int tmpl_unsub_verify(const char *secret, const char *student,
                 const char *channel, const char *token)
{
    char want[UNSUB_TOKEN_LEN + 1];

    if (tmpl_unsub_token(secret, student, channel, want) < 0 ||
        strlen(token) != UNSUB_TOKEN_LEN)
        return 0;
    return CRYPTO_memcmp(want, token, UNSUB_TOKEN_LEN) == 0;
}

static void put_query_value(struct tbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~') {
            tbuf_addc(b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            tbuf_add(b, e, 3);
        }
    }
}

int tmpl_unsub_link(struct tbuf *b, const char *base_url, const char *secret,
               const char *student, const char *channel)
{
    char token[UNSUB_TOKEN_LEN + 1];

    if (tmpl_unsub_token(secret, student, channel, token) < 0)
        return -1;
    tbuf_adds(b, base_url);
    tbuf_adds(b, strchr(base_url, '?') ? "&student=" : "?student=");
    put_query_value(b, student);
    tbuf_adds(b, "&channel=");
    put_query_value(b, channel);
    tbuf_adds(b, "&token=");
    tbuf_adds(b, token);
    return 0;
}
