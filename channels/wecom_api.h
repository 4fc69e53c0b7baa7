/*
 * wecom_api.h - what the wecom driver (wecom.c) says to WeCom and how it
 * reads the answers, with no I/O: the request bodies of message/send
 * (members), externalcontact/add_msg_template (external contacts) and
 * the group-robot webhook, and the table that classes WeCom's errcodes
 * into nudge's outcomes. Kept apart from the driver so that both can be
 * tested as plain functions.
 */
#ifndef NUDGE_CHANNELS_WECOM_API_H
#define NUDGE_CHANNELS_WECOM_API_H

#include <stddef.h>

#include "channels/channel.h"

/* The three ways a WeCom message goes out (msg->to_kind). */
enum wecom_api {
    WECOM_MEMBER,   /* "member" (or none): message/send to a userid */
    WECOM_EXTERNAL, /* "external": add_msg_template, sent by msg->sender */
    WECOM_ROBOT,    /* "robot": webhook/send to a group robot */
};

/* What the channel's config adds to every member message. */
struct wecom_opts {
    long agent_id;
    long dup_interval_s; /* duplicate_check_interval, 1..14400 */
};

/* The API msg goes through: 0, or -1 with res filled (permanent) for a
 * to_kind nudge does not know. */
int wecom_api_of(const struct chan_msg *msg, enum wecom_api *api,
                 struct chan_result *res);

/* The request body for msg on api, compact JSON that the caller frees;
 * NULL with res filled (permanent: no recipient, no sender, empty text;
 * transient on no memory) when it cannot go. */
char *wecom_request_json(enum wecom_api api, const struct chan_msg *msg,
                         const struct wecom_opts *o, struct chan_result *res);

/* One row of the errcode table. */
struct wecom_code {
    long code;
    enum chan_status status;
    int account; /* the account's or the app's fault, not the recipient's */
    int renew;   /* the access token is bad: renew it, send once more */
    const char *meaning;
};

/* The row of code, or NULL for a code the table does not know (such a
 * code is classed permanent: WeCom refused this message). */
const struct wecom_code *wecom_code_find(long code);

enum wecom_verdict {
    WECOM_DONE,  /* res is the outcome */
    WECOM_RENEW, /* the token was refused: renew it and send again once;
                    res holds the outcome to give if that fails too
                    (transient, account) */
};

/* Classes the body of a 2xx answer from api. idem_key is the message's
 * idempotency key (the robot's provider id, which has none of its own).
 * Fills res: provider_id on success; code, error (masked) otherwise. */
enum wecom_verdict wecom_classify(enum wecom_api api, const char *body,
                                  const char *idem_key,
                                  struct chan_result *res);

/* Hides the values of access_token=, corpsecret= and key= in text (in
 * place), so that no URL quoted in an error shows a secret. Returns
 * text. */
char *wecom_scrub(char *text);

#endif
