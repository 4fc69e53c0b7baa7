/*
 * msgclass.c - message class names (see msgclass.h): one table, read both
 * ways, with the synonyms older templates use.
 */
#include "core/msgclass.h"

#include <string.h>

static const struct {
    const char *name;
    enum msg_class value;
} class_names[] = {
    {"marketing", MSG_MARKETING},
    {"service", MSG_SERVICE},
    {"staff", MSG_STAFF},
    {"notice", MSG_SERVICE}, /* before classes: Kind: marketing or notice */
};

#define NNAMES (sizeof class_names / sizeof class_names[0])

const char *msg_class_name(enum msg_class c)
{
    for (size_t i = 0; i < NNAMES; i++)
        if (class_names[i].value == c)
            return class_names[i].name;
    return "?";
}

int msg_class_parse(const char *s, size_t n)
{
    for (size_t i = 0; i < NNAMES; i++)
        if (strlen(class_names[i].name) == n &&
            memcmp(class_names[i].name, s, n) == 0)
            return (int)class_names[i].value;
    return -1;
}
