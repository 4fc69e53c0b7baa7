/*
 * smtp_session.h - one SMTP session (libesmtp) that carries a batch of
 * messages: connect, EHLO, STARTTLS, AUTH, then MAIL/RCPT/DATA for each
 * message, QUIT; and each message's outcome classed from the server's
 * replies. The email channel (email.c) runs one of these at a time on
 * each of its pool's threads.
 *
 *   connect --EHLO--> STARTTLS (verified) --EHLO--> AUTH --> message 1 ...
 *      |                  |                          |         message n
 *   refused/timeout   not offered (required),     rejected      --> QUIT
 *      |              handshake or certificate       |
 *      +--------------------+------------------------+
 *        every message not yet sent: transient, account = 1
 *
 * Outcomes: the RCPT and DATA replies say it: 2xx sent (provider id: the
 * message's own Message-ID), 4xx transient, 5xx permanent; a refused
 * sender (MAIL FROM) is the account's. When the connection ends after the
 * message's data went and before the server's answer, it is unknown.
 *
 * Threads: smtp_session_send() blocks on the network for the whole
 * session: call it from a thread of the pool, never from submit(). An
 * account is read-only once made and may be shared by every thread.
 */
#ifndef NUDGE_CHANNELS_SMTP_SESSION_H
#define NUDGE_CHANNELS_SMTP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "channels/channel.h"

enum smtp_tls_mode {
    SMTP_TLS_OFF,      /* plain text, even when the server offers TLS */
    SMTP_TLS_OPTIONAL, /* STARTTLS when offered */
    SMTP_TLS_REQUIRED, /* no STARTTLS, no mail */
};

/* The server and the account on it. Strings are owned by the account and
 * freed by smtp_account_free(). */
struct smtp_account {
    char *host;     /* smtp.example.edu */
    char *hostport; /* "smtp.example.edu:587", as libesmtp wants it */
    int port;
    char *sender;   /* the envelope sender: the address of `from` */
    char *helo;     /* the EHLO name, or NULL for the system's */
    char *username; /* NULL: no AUTH */
    char *password; /* a secret: never logged, never in an error */
    enum smtp_tls_mode tls_mode;
    int tls_verify;
    void *tls_ctx; /* SSL_CTX *: verifies the server's certificate and
                      name (unless tls_verify = no); NULL when off */
    int64_t connect_timeout_ms; /* each address libesmtp tries */
    int64_t timeout_ms;         /* each step's wait for the server */
};

/* One message of a batch and, after smtp_session_send(), its outcome. */
struct smtp_item {
    const struct chan_msg *msg;
    struct chan_result res;
};

/* Makes acct->tls_ctx from cc's TLS keys (ca_file, ca_path, tls_verify).
 * 0, or -1 with a reason in err. */
int smtp_account_tls(struct smtp_account *acct, const struct chan_conf *cc,
                     char *err, size_t n);
/* Frees what the account holds (not the struct itself); the password is
 * wiped first. */
void smtp_account_free(struct smtp_account *acct);

/* Called by each thread that runs sessions, before its first one: the
 * process's signals (SIGTERM, SIGHUP, and SIGPIPE from a closed
 * connection) go to other threads or nowhere, so they never cut a
 * session short, and the connect watchdog's signal comes in. libesmtp
 * connects with a blocking connect() of its own; the watchdog interrupts
 * it after connect_timeout. */
void smtp_session_thread_init(void);

/* Sends the n items in one session and fills each item's res. Blocks. */
void smtp_session_send(const struct smtp_account *acct,
                       struct smtp_item *items, size_t n);

/* The Message-ID of an RFC 5322 message, without its angle brackets,
 * into out (at most n bytes with the NUL). 0, or -1 when it has none. */
int smtp_message_id(const char *mime, char *out, size_t n);

#endif
