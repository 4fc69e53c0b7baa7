/*
 * email.h - the email channel: each message is the RFC 5322 message
 * templates/ built (struct chan_msg's mime), sent as it is over SMTP
 * (libesmtp) to the school's submission server, STARTTLS required by
 * default, with AUTH. A pool of `sessions` threads each takes up to
 * `batch` queued messages and sends them in one SMTP session
 * (smtp_session.h), so that sessions overlap and each carries many
 * messages. The provider id is the message's own Message-ID.
 *
 *   [channel.email]
 *   type = email
 *   host = smtp.example.edu
 *   port = 587
 *   from = 招生办 <admissions@example.edu>
 *   starttls = required               # required | optional | off
 *   username = admissions
 *   password = env:SMTP_PASSWORD
 *   sessions = 4                      # SMTP sessions at once
 *   batch = 100                       # messages per session
 *
 * Threads: submit() only queues the message and wakes a pool thread;
 * done() is called from a pool thread. close() sends what is queued (a
 * batch whose server cannot be reached ends the rest as transient), then
 * joins the threads.
 */
#ifndef NUDGE_CHANNELS_EMAIL_H
#define NUDGE_CHANNELS_EMAIL_H

#include "channels/channel.h"

extern const struct chan_driver chan_email;

#endif
