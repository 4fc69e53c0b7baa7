/*
 * smtp_session.c - one libesmtp session carrying a batch of messages, and
 * the outcome of each (see smtp_session.h).
 *
 * libesmtp runs the whole protocol inside smtp_start_session() and tells
 * what happened three ways, all used here: events (STARTTLS missing or
 * done, certificate checks), the protocol monitor (the server's replies,
 * which is how a refused AUTH is seen: libesmtp itself goes on to MAIL
 * after one), and the statuses of each message's MAIL, RCPT and DATA.
 *
 * What libesmtp 1.1 lacks is made up here, in this order below: the TLS
 * context (certificate and name checked by OpenSSL, SNI, TLS 1.2), a
 * watchdog for its blocking connect(), and TCP_NODELAY on its socket.
 */
#include "channels/smtp_session.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* auth-client.h first: libesmtp.h declares smtp_auth_set_context() only
 * when it has been included. */
#include <auth-client.h>
#include <libesmtp.h>

#include "core/mask.h"

/* What one session learnt, from events and the monitor. */
struct session_state {
    const struct smtp_account *acct;
    int connected;        /* the TCP connection is up */
    timer_t watchdog;     /* interrupts connect() (see below) */
    int has_watchdog;
    int starttls_missing; /* required, and the server did not offer it */
    int in_auth;          /* an AUTH exchange is under way */
    int auth_failed;      /* the server refused our credentials */
    char auth_reply[160]; /* its words */
    char last_reply[160]; /* the server's latest reply line */
    unsigned char *data_went; /* per item: its data began to go */
};

/* The certificate problem of the handshake under way on this thread:
 * OpenSSL's verify callback has no session pointer, and each thread runs
 * one session at a time. */
static __thread char tls_problem[128];

/* --- the account's TLS ------------------------------------------------------ */

static int verify_note(int ok, X509_STORE_CTX *x)
{
    if (!ok && !tls_problem[0])
        snprintf(tls_problem, sizeof tls_problem, "%s",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(x)));
    return ok;
}

static int is_ip_literal(const char *host)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, host, buf) == 1 ||
           inet_pton(AF_INET6, host, buf) == 1;
}

/* OpenSSL checks the chain and the server's name during the handshake
 * (libesmtp's own name check knows no IP addresses and no wildcards
 * rules of RFC 6125, so its verdict is overruled in on_event()). */
static int verify_server_name(SSL_CTX *ctx, const char *host)
{
    X509_VERIFY_PARAM *p = SSL_CTX_get0_param(ctx);

    X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (is_ip_literal(host))
        return X509_VERIFY_PARAM_set1_ip_asc(p, host);
    return X509_VERIFY_PARAM_set1_host(p, host, 0);
}

/* libesmtp makes the SSL object and sends no server name (SNI), which
 * servers with one address for several names need to pick their
 * certificate: it is set here, as the handshake starts. The host name
 * lives as long as the account, which outlives every session. */
static void send_server_name(const SSL *ssl, int where, int ret)
{
    const char *host = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

    (void)ret;
    if ((where & SSL_CB_HANDSHAKE_START) && host && !is_ip_literal(host) &&
        !SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name))
        SSL_set_tlsext_host_name((SSL *)ssl, host);
}

int smtp_account_tls(struct smtp_account *acct, const struct chan_conf *cc,
                     char *err, size_t n)
{
    SSL_CTX *ctx;

    acct->tls_verify = cc->tls_verify;
    if (acct->tls_mode == SMTP_TLS_OFF)
        return 0;
    if (!(ctx = SSL_CTX_new(TLS_client_method()))) {
        snprintf(err, n, "cannot make a TLS context");
        return -1;
    }
    /* TLS 1.2 exactly. libesmtp 1.1 cannot run TLS 1.3: the server's
     * session tickets, sent after the handshake, make the socket readable,
     * and libesmtp then waits for the EHLO reply before it has flushed
     * the EHLO (the session stalls until the timeout; seen in about one
     * session in fifty against a local server). */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    if (cc->ca_file || cc->ca_path) {
        if (SSL_CTX_load_verify_locations(ctx, cc->ca_file, cc->ca_path) != 1) {
            snprintf(err, n, "cannot load the CA certificates of %s",
                     cc->ca_file ? "ca_file" : "ca_path");
            goto fail;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        snprintf(err, n, "cannot load the system's CA certificates");
        goto fail;
    }
    if (cc->tls_verify) {
        if (verify_server_name(ctx, acct->host) != 1) {
            snprintf(err, n, "host: cannot check certificates against "
                             "\"%s\"", acct->host);
            goto fail;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_note);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    SSL_CTX_set_app_data(ctx, acct->host);
    SSL_CTX_set_info_callback(ctx, send_server_name);
    acct->tls_ctx = ctx;
    return 0;
fail:
    SSL_CTX_free(ctx);
    return -1;
}

void smtp_account_free(struct smtp_account *acct)
{
    SSL_CTX_free(acct->tls_ctx); /* its app data is acct->host */
    if (acct->password) {
        explicit_bzero(acct->password, strlen(acct->password));
        free(acct->password);
    }
    free(acct->host);
    free(acct->hostport);
    free(acct->sender);
    free(acct->helo);
    free(acct->username);
    memset(acct, 0, sizeof *acct);
}

/* --- the connect watchdog -------------------------------------------------------- */

/* libesmtp's connect() blocks for as long as the kernel tries (two
 * minutes for an address that drops packets). A timer aimed at this
 * thread sends it a signal every connect_timeout until the connection is
 * up; the handler does nothing, and connect() fails with EINTR (the
 * handler has no SA_RESTART), so libesmtp gives up on that address. */
#define WATCHDOG_SIGNAL (SIGRTMIN + 5)

static __thread volatile sig_atomic_t watchdog_fired;
static pthread_once_t watchdog_once = PTHREAD_ONCE_INIT;

static void on_watchdog(int sig)
{
    (void)sig;
    watchdog_fired = 1;
}

static void install_watchdog(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_watchdog;
    sigemptyset(&sa.sa_mask);
    sigaction(WATCHDOG_SIGNAL, &sa, NULL);
}

void smtp_session_thread_init(void)
{
    /* a fault still reaches its handler (a sanitizer's report) */
    static const int kept[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL,
                               SIGTRAP, SIGABRT, SIGSYS};
    sigset_t all, mine;

    pthread_once(&watchdog_once, install_watchdog);
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    sigemptyset(&mine);
    sigaddset(&mine, WATCHDOG_SIGNAL);
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        sigaddset(&mine, kept[i]);
    pthread_sigmask(SIG_UNBLOCK, &mine, NULL);
}

static void set_watchdog(struct session_state *st, int64_t ms)
{
    struct itimerspec its;

    if (!st->has_watchdog)
        return;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = ms / 1000;
    its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
    its.it_interval = its.it_value;
    timer_settime(st->watchdog, 0, &its, NULL);
}

static void start_watchdog(struct session_state *st)
{
    struct sigevent sev;

    watchdog_fired = 0;
    if (st->acct->connect_timeout_ms <= 0)
        return;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = WATCHDOG_SIGNAL;
    sev._sigev_un._tid = gettid(); /* glibc names no field for it */
    if (timer_create(CLOCK_MONOTONIC, &sev, &st->watchdog) == 0) {
        st->has_watchdog = 1;
        set_watchdog(st, st->acct->connect_timeout_ms);
    }
}

static void stop_watchdog(struct session_state *st)
{
    if (st->has_watchdog)
        timer_delete(st->watchdog);
    st->has_watchdog = 0;
}

/* --- Nagle ------------------------------------------------------------------------ */

/* libesmtp writes a message in 2 KB pieces and never sets TCP_NODELAY,
 * so the last piece of every message waits for the server's delayed ACK
 * of the one before (40 ms a message: 25 messages a second in a session).
 * libesmtp does not show its socket, so once connected, every TCP socket
 * of the process connected to the server's port gets TCP_NODELAY (ours;
 * any other one to that port is an SMTP client that wants it too). */
static int peer_port(int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;

    if (getpeername(fd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    if (sa.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&sa)->sin_port);
    if (sa.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    return -1;
}

static void no_delay_to(int port)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int one = 1, type;
    socklen_t len;

    if (!d)
        return;
    while ((de = readdir(d))) {
        int fd = atoi(de->d_name);
        len = sizeof type;
        if (fd <= 2 || fd == dirfd(d) ||
            getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
            type != SOCK_STREAM || peer_port(fd) != port)
            continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    closedir(d);
}

/* --- what libesmtp tells ----------------------------------------------------- */

static void on_event(smtp_session_t session, int event, void *arg, ...)
{
    struct session_state *st = arg;
    va_list ap;
    int *ok;

    va_start(ap, arg);
    switch (event) {
    case SMTP_EV_CONNECT:
        st->connected = 1;
        set_watchdog(st, 0); /* disarmed: the connection is up */
        no_delay_to(st->acct->port);
        break;
    case SMTP_EV_EXTNA_STARTTLS:
        st->starttls_missing = 1;
        break;
    case SMTP_EV_MESSAGEDATA: { /* smtp_message_t, int len */
        smtp_message_t m = va_arg(ap, smtp_message_t);
        uintptr_t k = (uintptr_t)smtp_message_get_application_data(m);
        if (k)
            st->data_went[k - 1] = 1;
        break;
    }
    case SMTP_EV_INVALID_PEER_CERTIFICATE: /* long result, int *ok */
        (void)va_arg(ap, long);
        ok = va_arg(ap, int *);
        *ok = !st->acct->tls_verify; /* verifying: the handshake failed */
        break;
    case SMTP_EV_NO_PEER_CERTIFICATE: /* int *ok */
        ok = va_arg(ap, int *);
        *ok = !st->acct->tls_verify;
        break;
    case SMTP_EV_WRONG_PEER_CERTIFICATE: /* int *ok, ... */
        /* OpenSSL checked the name in the handshake already (or was told
         * not to, tls_verify = no). */
        ok = va_arg(ap, int *);
        *ok = 1;
        break;
    default:
        break;
    }
    va_end(ap);
}

/* The first line of buf, without its line break, into out. */
static void first_line(const char *buf, int len, char *out, size_t n)
{
    int k = 0;

    while (k < len && buf[k] != '\r' && buf[k] != '\n')
        k++;
    snprintf(out, n, "%.*s", k, buf);
}

/* Sees every command and reply except the messages' data. Writes are
 * only looked at for the AUTH verb: what follows it is credentials and
 * is never kept. */
static void on_traffic(const char *buf, int len, int writing, void *arg)
{
    struct session_state *st = arg;

    if (writing) {
        if (len >= 5 && strncasecmp(buf, "AUTH ", 5) == 0)
            st->in_auth = 1;
        return;
    }
    first_line(buf, len, st->last_reply, sizeof st->last_reply);
    if (st->in_auth && buf[0] != '3') { /* 334: the exchange goes on */
        st->in_auth = 0;
        if (buf[0] != '2') {
            st->auth_failed = 1;
            snprintf(st->auth_reply, sizeof st->auth_reply, "%s",
                     st->last_reply);
        }
    }
}

static int give_credentials(auth_client_request_t req, char **result,
                            int fields, void *arg)
{
    const struct smtp_account *acct = arg;

    for (int i = 0; i < fields; i++) {
        if (req[i].flags & AUTH_USER)
            result[i] = acct->username;
        else if (req[i].flags & AUTH_PASS)
            result[i] = acct->password;
        else
            result[i] = (char *)""; /* a realm: none */
    }
    return 1;
}

/* --- classing ---------------------------------------------------------------- */

/* A reply's code into res->code and its words, masked, into res->error. */
static void fail_reply(struct chan_result *res, enum chan_status status,
                       const char *what, int code, const char *text)
{
    char masked[200];
    int len;

    mask_text(text ? text : "", masked, sizeof masked);
    len = (int)strcspn(masked, "\r\n");
    chan_result_fail(res, status, NULL, "%s: %d %.*s", what, code, len,
                     masked);
    snprintf(res->code, sizeof res->code, "%d", code);
}

static enum chan_status status_of_code(int code)
{
    return code >= 500 ? CHAN_PERMANENT : CHAN_TRANSIENT;
}

/* The reason nothing of the message went: the session's. */
static void session_failure(const struct session_state *st, int started,
                            struct chan_result *res)
{
    const struct smtp_account *a = st->acct;
    char why[128], masked[200];

    res->account = 1;
    if (st->starttls_missing) {
        chan_result_fail(res, CHAN_TRANSIENT, "STARTTLS",
                         "%s did not offer STARTTLS; starttls = required",
                         a->host);
    } else if (tls_problem[0]) {
        chan_result_fail(res, CHAN_TRANSIENT, "TLS",
                         "TLS with %s failed: certificate not accepted (%s)",
                         a->host, tls_problem);
    } else if (st->auth_failed) {
        int code = atoi(st->auth_reply);
        size_t skip = strlen(st->auth_reply) > 4 ? 4 : 0; /* "535 " */
        fail_reply(res, status_of_code(code), "AUTH refused", code,
                   st->auth_reply + skip);
    } else if (!st->connected && watchdog_fired) {
        chan_result_fail(res, CHAN_TRANSIENT, "timeout",
                         "connecting to %s timed out after %lld ms "
                         "(connect_timeout)",
                         a->hostport, (long long)a->connect_timeout_ms);
    } else if (!started || smtp_errno() != 0) {
        smtp_strerror(smtp_errno(), why, sizeof why);
        mask_text(st->last_reply, masked, sizeof masked);
        chan_result_fail(res, CHAN_TRANSIENT, "connect",
                         "SMTP session with %s failed: %s%s%s", a->hostport,
                         why, masked[0] ? "; last reply: " : "", masked);
    } else {
        mask_text(st->last_reply, masked, sizeof masked);
        chan_result_fail(res, CHAN_TRANSIENT, "session",
                         "%s ended the session before this message%s%s",
                         a->hostport, masked[0] ? ": " : "", masked);
    }
}

static void classify(const struct session_state *st, int started,
                     smtp_message_t m, smtp_recipient_t r,
                     struct smtp_item *it, int data_went)
{
    const smtp_status_t *mail = smtp_reverse_path_status(m);
    const smtp_status_t *rcpt = smtp_recipient_status(r);
    const smtp_status_t *data = smtp_message_transfer_status(m);
    struct chan_result *res = &it->res;

    if (rcpt->code / 100 == 2 && data->code / 100 == 2) {
        res->status = CHAN_OK;
        smtp_message_id(it->msg->mime, res->provider_id,
                        sizeof res->provider_id);
    } else if (st->auth_failed || st->starttls_missing || tls_problem[0]) {
        session_failure(st, started, res);
    } else if (mail->code >= 400) {
        res->account = 1; /* the server refuses our sender */
        fail_reply(res, status_of_code(mail->code), "sender refused",
                   mail->code, mail->text);
    } else if (rcpt->code >= 400) {
        fail_reply(res, status_of_code(rcpt->code), "recipient refused",
                   rcpt->code, rcpt->text);
    } else if (data->code >= 400) {
        fail_reply(res, status_of_code(data->code), "message refused",
                   data->code, data->text);
    } else if (data_went || data->code / 100 == 3) {
        /* The data went (or was going); the answer never came. */
        chan_result_fail(res, CHAN_UNKNOWN, "lost",
                         "the connection to %s ended before the server "
                         "answered the message's data",
                         st->acct->hostport);
    } else {
        session_failure(st, started, res);
    }
}

/* --- the message --------------------------------------------------------------- */

/* An envelope address: nothing that could end or break an SMTP command. */
static int envelope_address_ok(const char *a)
{
    if (!a || !*a || !strchr(a, '@'))
        return 0;
    for (; *a; a++)
        if ((unsigned char)*a <= ' ' || *a == 0x7f || *a == '<' ||
            *a == '>')
            return 0;
    return 1;
}

/* Header name at p (len bytes up to the colon) is name. */
static int header_is(const char *p, size_t len, const char *name)
{
    return strlen(name) == len && strncasecmp(p, name, len) == 0;
}

int smtp_message_id(const char *mime, char *out, size_t n)
{
    const char *p = mime, *colon, *lt, *gt, *end;

    while (p && *p && *p != '\r' && *p != '\n') {
        end = strchr(p, '\n');
        colon = memchr(p, ':', end ? (size_t)(end - p) : strlen(p));
        if (colon && header_is(p, (size_t)(colon - p), "Message-ID")) {
            /* the value may be folded onto the next lines */
            while (end && (end[1] == ' ' || end[1] == '\t'))
                end = strchr(end + 1, '\n');
            lt = strchr(colon, '<');
            gt = lt ? strchr(lt, '>') : NULL;
            if (!lt || !gt || (end && gt > end) || (size_t)(gt - lt) > n)
                return -1;
            snprintf(out, n, "%.*s", (int)(gt - lt - 1), lt + 1);
            return 0;
        }
        p = end ? end + 1 : NULL;
    }
    return -1;
}

/* Adds the item to the session; 0, or -1 when it cannot go at all (its
 * res then says why). */
static int add_message(smtp_session_t s, const struct smtp_account *a,
                       struct smtp_item *it, smtp_message_t *m,
                       smtp_recipient_t *r)
{
    const struct chan_msg *msg = it->msg;
    char id[128];

    if (!msg->mime || !*msg->mime) {
        chan_result_fail(&it->res, CHAN_PERMANENT, "no-mime",
                         "no MIME message: the email channel sends the "
                         "message templates/ builds");
        return -1;
    }
    if (!envelope_address_ok(msg->to)) {
        /* not shown: masking assumes an address, and this is not one */
        chan_result_fail(&it->res, CHAN_PERMANENT, "bad-address",
                         "not an email address: it is empty, has no @, or "
                         "holds a blank, a control character or < >");
        return -1;
    }
    if (!(*m = smtp_add_message(s)) ||
        !smtp_set_reverse_path(*m, a->sender) ||
        !(*r = smtp_add_recipient(*m, msg->to)) ||
        !smtp_set_message_str(*m, (void *)msg->mime)) {
        chan_result_fail(&it->res, CHAN_TRANSIENT, "ENOMEM",
                         "out of memory");
        it->res.account = 1;
        return -1;
    }
    /* The message goes as it was built. libesmtp adds a Message-ID when
     * there is none: not here (the provider id would be one we never
     * see). */
    if (smtp_message_id(msg->mime, id, sizeof id) < 0)
        smtp_set_header_option(*m, "Message-Id", Hdr_PROHIBIT, 1);
    return 0;
}

/* --- the session ------------------------------------------------------------------ */

static pthread_once_t auth_once = PTHREAD_ONCE_INIT;

static void auth_start(void)
{
    auth_client_init();
}

static void set_timeouts(smtp_session_t s, int64_t ms)
{
    static const int steps[] = {Timeout_GREETING, Timeout_ENVELOPE,
                                Timeout_DATA, Timeout_TRANSFER,
                                Timeout_DATA2};
    long v = ms > 0 ? (long)ms : 15000;

    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        smtp_set_timeout(s, steps[i] | Timeout_OVERRIDE_RFC2822_MINIMUM, v);
}

static const enum starttls_option tls_option[] = {
    [SMTP_TLS_OFF] = Starttls_DISABLED,
    [SMTP_TLS_OPTIONAL] = Starttls_ENABLED,
    [SMTP_TLS_REQUIRED] = Starttls_REQUIRED,
};

/* A session set up for acct; NULL on no memory. */
static smtp_session_t open_session(const struct smtp_account *acct,
                                   struct session_state *st,
                                   auth_context_t *auth)
{
    smtp_session_t s = smtp_create_session();

    *auth = NULL;
    if (!s)
        return NULL;
    if (!smtp_set_server(s, acct->hostport) ||
        (acct->helo && !smtp_set_hostname(s, acct->helo)) ||
        !smtp_starttls_enable(s, tls_option[acct->tls_mode]) ||
        (acct->tls_ctx && !smtp_starttls_set_ctx(s, acct->tls_ctx)) ||
        !smtp_set_eventcb(s, on_event, st) ||
        !smtp_set_monitorcb(s, on_traffic, st, 0))
        goto fail;
    set_timeouts(s, acct->timeout_ms);
    if (acct->username) {
        pthread_once(&auth_once, auth_start);
        if (!(*auth = auth_create_context()))
            goto fail;
        auth_set_mechanism_flags(*auth, AUTH_PLUGIN_PLAIN, 0);
        auth_set_interact_cb(*auth, give_credentials, (void *)acct);
        smtp_auth_set_context(s, *auth);
    }
    return s;
fail:
    smtp_destroy_session(s);
    if (*auth)
        auth_destroy_context(*auth);
    *auth = NULL;
    return NULL;
}

void smtp_session_send(const struct smtp_account *acct,
                       struct smtp_item *items, size_t n)
{
    struct session_state st = {.acct = acct};
    smtp_message_t *msgs = calloc(n ? n : 1, sizeof *msgs);
    smtp_recipient_t *rcpts = calloc(n ? n : 1, sizeof *rcpts);
    unsigned char *data_went = calloc(n ? n : 1, 1);
    auth_context_t auth = NULL;
    smtp_session_t s = NULL;
    size_t i, queued = 0;
    int started = 0;

    for (i = 0; i < n; i++)
        memset(&items[i].res, 0, sizeof items[i].res);
    st.data_went = data_went;
    if (!msgs || !rcpts || !data_went ||
        !(s = open_session(acct, &st, &auth))) {
        for (i = 0; i < n; i++) {
            chan_result_fail(&items[i].res, CHAN_TRANSIENT, "ENOMEM",
                             "out of memory");
            items[i].res.account = 1;
        }
        goto done;
    }
    for (i = 0; i < n; i++)
        if (add_message(s, acct, &items[i], &msgs[i], &rcpts[i]) == 0) {
            smtp_message_set_application_data_release(
                msgs[i], (void *)(uintptr_t)(i + 1), NULL);
            queued++;
        } else {
            msgs[i] = NULL;
        }
    tls_problem[0] = '\0';
    if (queued > 0) {
        start_watchdog(&st);
        started = smtp_start_session(s) != 0;
        stop_watchdog(&st);
    }
    for (i = 0; i < n; i++)
        if (msgs[i])
            classify(&st, started, msgs[i], rcpts[i], &items[i],
                     st.data_went[i]);
done:
    if (s)
        smtp_destroy_session(s);
    if (auth)
        auth_destroy_context(auth);
    free(msgs);
    free(rcpts);
    free(data_went);
}
