/*
 * consent.c - opt-out and opt-in words and the verdict on a reply (see
 * consent.h): every word becomes one alternative of a single anchored
 * PCRE2 pattern, so a reply costs one match per list.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/consent.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/keys.h"

struct consent_words {
    pcre2_code *re;
};

/* Spaces (\s, Unicode separators) and punctuation may surround a word. */
#define CONSENT_PAD "[\\s\\p{Z}\\p{P}]*"
#define CONSENT_OPTS                                                           \
    (PCRE2_CASELESS | PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF)

static pcre2_code *compile(const char *pattern, size_t len, char *why,
                           size_t n)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, CONSENT_OPTS,
                                   &code, &off, NULL);

    if (!re)
        pcre2_get_error_message(code, (PCRE2_UCHAR *)why, n);
    return re;
}

/* The next word of the list from *p: its start and length, spaces
 * trimmed; 0 when the list is done. */
static int next_word(const char **p, const char **word, size_t *len)
{
    const char *s = *p, *end;

    while (*s == ',' || *s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return 0;
    end = strchr(s, ',');
    if (!end)
        end = s + strlen(s);
    *p = end;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *word = s;
    *len = (size_t)(end - s);
    return 1;
}

/* Checks every word alone (so an error can name it) and appends it as an
 * alternative to alt. 0, or -1 with err. */
static int gather(const char *list, char **alt, char *err, size_t errlen)
{
    const char *p = list, *word;
    size_t len, used = 0, cap = strlen(list) * 6 + 16;
    char why[256];
    pcre2_code *re;

    if (!(*alt = malloc(cap)))
        return -1;
    **alt = '\0';
    while (next_word(&p, &word, &len)) {
        if (!(re = compile(word, len, why, sizeof why))) {
            snprintf(err, errlen, "bad word \"%.*s\": %s", (int)len, word, why);
            return -1;
        }
        pcre2_code_free(re);
        used += (size_t)snprintf(*alt + used, cap - used, "%s(?:%.*s)",
                                 used ? "|" : "", (int)len, word);
    }
    return 0;
}

int consent_words_compile(const char *list, struct consent_words **out,
                          char *err, size_t errlen)
{
    char *alt = NULL, *pattern = NULL, why[256];
    size_t n;
    int ret = -1;

    *out = NULL;
    if (gather(list ? list : "", &alt, err, errlen) < 0)
        goto done;
    if (!*alt) { /* no words */
        ret = 0;
        goto done;
    }
    n = strlen(alt) + 2 * sizeof CONSENT_PAD + 16;
    if (!(pattern = malloc(n)) || !(*out = calloc(1, sizeof **out)))
        goto done;
    snprintf(pattern, n, "^" CONSENT_PAD "(?:%s)" CONSENT_PAD "$", alt);
    if (!((*out)->re = compile(pattern, PCRE2_ZERO_TERMINATED, why,
                               sizeof why))) {
        snprintf(err, errlen, "bad word list: %s", why);
        goto done;
    }
    ret = 0;
done:
    if (ret < 0) {
        consent_words_free(*out);
        *out = NULL;
    }
    free(alt);
    free(pattern);
    return ret;
}

int consent_words_check(const char *list, char *err, size_t errlen)
{
    struct consent_words *w;

    if (consent_words_compile(list, &w, err, errlen) < 0)
        return -1;
    consent_words_free(w);
    return 0;
}

void consent_words_free(struct consent_words *w)
{
    if (!w)
        return;
    pcre2_code_free(w->re);
    free(w);
}

int consent_words_match(const struct consent_words *w, const char *text)
{
    pcre2_match_data *md;
    int rc;

    if (!w)
        return 0;
    if (!(md = pcre2_match_data_create_from_pattern(w->re, NULL)))
        return 0;
    rc = pcre2_match(w->re, (PCRE2_SPTR)(text ? text : ""),
                     PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

int consent_init(struct consent *c, const struct config *cfg, char *err,
                 size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (consent_words_compile(cfg->consent.optout_words, &c->optout, err,
                              errlen) < 0 ||
        consent_words_compile(cfg->consent.optin_words, &c->optin, err,
                              errlen) < 0) {
        consent_clear(c);
        return -1;
    }
    c->scope_all = cfg->consent.scope_all;
    c->confirm_template = cfg->consent.confirm_template &&
                                  *cfg->consent.confirm_template
                              ? cfg->consent.confirm_template
                              : NULL;
    return 0;
}

void consent_clear(struct consent *c)
{
    consent_words_free(c->optout);
    consent_words_free(c->optin);
    c->optout = c->optin = NULL;
}

enum consent_verdict consent_verdict(const struct consent *c, const char *text)
{
    if (consent_words_match(c->optout, text))
        return CONSENT_OPTOUT;
    if (consent_words_match(c->optin, text))
        return CONSENT_OPTIN;
    return CONSENT_NONE;
}

const char *consent_member(const struct consent *c, const char *channel)
{
    return c->scope_all || !channel || !*channel ? "all" : channel;
}

int consent_confirmed_key(char *buf, size_t n, const char *prefix,
                          const char *student, const char *member)
{
    char suffix[160];

    snprintf(suffix, sizeof suffix, "consent:confirmed:%s", member);
    return key_student(buf, n, prefix, student, suffix);
}
