/*
 * unsub.c - signed unsubscribe links (see unsub.h).
 */
#include "templates/unsub.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

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
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char data[512];
    int n;

    if (!secret || !*secret)
        return -1;
    n = snprintf(data, sizeof data, "nudge-unsub-v1\n%s\n%s", student,
                 channel);
    if (n < 0 || (size_t)n >= sizeof data)
        return -1;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret),
              (const unsigned char *)data, (size_t)n, md, &mdlen) ||
        mdlen != 32)
        return -1;
    base64url(md, mdlen, out);
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
