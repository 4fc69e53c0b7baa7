/*
 * http_token.c - the callbacks' shared secret, compared so that neither
 * the time taken nor the length tells anything (see http_token.h).
 */
#include "daemon/http_token.h"

#include <openssl/crypto.h>
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
