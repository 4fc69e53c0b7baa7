/*
 * smtp_sink.c - the email benchmark's SMTP server (bench/bench_email.sh):
 * accepts every message on loopback and throws it away, one thread and
 * epoll, so that it is never the limit of the nudge side nor of the
 * baseline client that bench_email.sh runs beside it against the same
 * sink. It speaks enough ESMTP for libesmtp and Python's smtplib: EHLO
 * (PIPELINING, 8BITMIME, SIZE), HELO, MAIL, RCPT, RSET, NOOP, DATA, QUIT;
 * no STARTTLS, no AUTH. Replies to pipelined commands go in one write.
 *
 *   smtp_sink PORT        (prints "ready" when listening)
 *
 * On SIGUSR1 it prints "messages N bytes B sessions S" (counted since the
 * last SIGUSR1) and starts counting again: the benchmark checks that each
 * side sent all its messages, of the same size. It checks nothing else:
 * tests/fakes/smtp_server.py is the fake that checks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINE_MAX_LEN 1000 /* RFC 5321's limit on a command line */

struct conn {
    int fd;
    int in_data;   /* between DATA's 354 and the final "." */
    int matched;   /* how much of "\r\n.\r\n" the data has just shown */
    long data_len; /* bytes of the message so far */
    int quitting;  /* close once the output is written */
    char in[8192];
    size_t in_len;
    char out[8192];
    size_t out_len;
};

static volatile sig_atomic_t report_due;
static long messages, bytes, sessions;

static void on_usr1(int sig)
{
    (void)sig;
    report_due = 1;
}

static void reply(struct conn *c, const char *s)
{
    size_t n = strlen(s);

    if (c->out_len + n <= sizeof c->out) { /* full: the client is broken */
        memcpy(c->out + c->out_len, s, n);
        c->out_len += n;
    }
}

/* Writes what is queued; -1 when the connection is gone. Replies are a
 * few bytes and the client reads them before it sends more, so a full
 * socket buffer is not waited for: what does not go is dropped with the
 * connection. */
static int flush_out(struct conn *c)
{
    size_t off = 0;

    while (off < c->out_len) {
        ssize_t w = write(c->fd, c->out + off, c->out_len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    c->out_len = 0;
    return c->quitting ? -1 : 0;
}

static int verb_is(const char *line, const char *verb)
{
    return strncasecmp(line, verb, strlen(verb)) == 0;
}

static void command(struct conn *c, const char *line)
{
    if (verb_is(line, "EHLO"))
        reply(c, "250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                 "250 SIZE 52428800\r\n");
    else if (verb_is(line, "HELO"))
        reply(c, "250 sink\r\n");
    else if (verb_is(line, "MAIL") || verb_is(line, "RCPT") ||
             verb_is(line, "RSET") || verb_is(line, "NOOP"))
        reply(c, "250 OK\r\n");
    else if (verb_is(line, "DATA")) {
        reply(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
        c->in_data = 1;
        c->matched = 2; /* the DATA line's own CRLF */
        c->data_len = 0;
    } else if (verb_is(line, "QUIT")) {
        reply(c, "221 Bye\r\n");
        c->quitting = 1;
    } else
        reply(c, "502 Command not implemented\r\n");
}

/* Consumes message data from p; returns how many bytes it used (up to
 * and with the final ".\r\n", or all of them). */
static size_t data(struct conn *c, const char *p, size_t n)
{
    static const char end[] = "\r\n.\r\n";

    for (size_t i = 0; i < n; i++) {
        if (p[i] == end[c->matched])
            c->matched++;
        else
            c->matched = p[i] == '\r' ? 1 : 0;
        if (c->matched == 5) {
            c->in_data = 0;
            messages++;
            bytes += c->data_len + (long)i + 1 - 3; /* without ".\r\n" */
            reply(c, "250 OK queued\r\n");
            return i + 1;
        }
    }
    c->data_len += (long)n;
    return n;
}

/* Handles what was read; -1 to close. */
static int consume(struct conn *c)
{
    size_t off = 0;

    while (off < c->in_len && !c->quitting) {
        if (c->in_data) {
            off += data(c, c->in + off, c->in_len - off);
            continue;
        }
        char *nl = memchr(c->in + off, '\n', c->in_len - off);
        if (!nl) {
            if (c->in_len - off > LINE_MAX_LEN)
                return -1;
            break;
        }
        *nl = '\0';
        command(c, c->in + off);
        off = (size_t)(nl - c->in) + 1;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return flush_out(c);
}

static int on_readable(struct conn *c)
{
    for (;;) {
        ssize_t r = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return 0;
        if (r <= 0)
            return -1;
        c->in_len += (size_t)r;
        if (consume(c) < 0)
            return -1;
    }
}

static int listen_on(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((unsigned short)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(fd, 1024) < 0) {
        perror("smtp_sink: listen");
        exit(1);
    }
    return fd;
}

static void accept_all(int ep, int lfd)
{
    int fd, one = 1;

    while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
        struct conn *c = calloc(1, sizeof *c);
        struct epoll_event ev = {.events = EPOLLIN};
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ev.data.ptr = c;
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        sessions++;
        reply(c, "220 sink ESMTP\r\n");
        if (flush_out(c) < 0) {
            close(fd);
            free(c);
        }
    }
}

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_usr1};
    struct epoll_event evs[64];
    int lfd, ep;

    if (argc != 2) {
        fprintf(stderr, "usage: smtp_sink PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: epoll_wait wakes */
    lfd = listen_on(atoi(argv[1]));
    ep = epoll_create1(0);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        if (report_due) {
            report_due = 0;
            printf("messages %ld bytes %ld sessions %ld\n", messages, bytes,
                   sessions);
            fflush(stdout);
            messages = bytes = sessions = 0;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                accept_all(ep, lfd);
            } else if (on_readable(c) < 0) {
                close(c->fd); /* leaves the epoll set with it */
                free(c);
            }
        }
    }
}
