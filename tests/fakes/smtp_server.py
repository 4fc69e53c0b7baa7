"""A fake SMTP submission server for the email channel's tests (aiosmtpd).

Listens on 127.0.0.1, on a free port (printed as the first line of
stdout), and writes one JSON line per event to --out:

  {"event": "connect", "peer": [host, port]}
  {"event": "message", "peer": [host, port], "tls": true, "auth": "user",
   "mail_from": "...", "rcpt_tos": [...], "data": "<base64 of the bytes>"}
  {"event": "sni", "name": "smtp.example.edu"}   (a TLS client's SNI)
  {"event": "refused", "rcpt": "...", "code": 550}  (--reject, --tempfail)

so a test can count the SMTP sessions (connections) and compare what
arrived with what was sent. It fails on purpose when told:

  --starttls CERT KEY   offer STARTTLS and refuse mail before it
  --auth USER:PASS      require AUTH (PLAIN, LOGIN), over TLS when
                        --starttls is given
  --reject ADDR=CODE    refuse the recipient ADDR with CODE (5xx)
  --tempfail ADDR=CODE  refuse the recipient ADDR with CODE (4xx)
  --hangup ADDR         close the connection after the data of a message
                        to ADDR, without an answer

  /usr/bin/python3 smtp_server.py --out FILE [options]
"""
import argparse
import asyncio
import base64
import json
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)

    def write(self, **fields):
        self.f.write(json.dumps(fields) + "\n")


class Handler:
    def __init__(self, args, recorder):
        self.refuse = {}
        for spec in (args.reject or []) + (args.tempfail or []):
            addr, code = spec.rsplit("=", 1)
            self.refuse[addr.lower()] = int(code)
        self.hangup = {a.lower() for a in args.hangup or []}
        self.rec = recorder

    async def handle_RCPT(self, server, session, envelope, address, options):
        code = self.refuse.get(address.lower())
        if code:
            self.rec.write(event="refused", rcpt=address, code=code)
            words = ("Recipient address rejected" if code >= 500
                     else "Mailbox busy, try again later")
            return "%d %d.1.1 <%s>: %s" % (code, code // 100, address, words)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(r.lower() in self.hangup for r in envelope.rcpt_tos):
            server.transport.abort()
            return "421 gone"  # never arrives: the connection is closed
        self.rec.write(event="message", peer=list(session.peer),
                       tls=session.ssl is not None,
                       auth=session.auth_data.login.decode()
                       if isinstance(session.auth_data, LoginPassword)
                       else None,
                       mail_from=envelope.mail_from,
                       rcpt_tos=envelope.rcpt_tos,
                       data=base64.b64encode(
                           envelope.original_content).decode())
        return "250 OK queued"


class CountingSMTP(SMTP):
    """Records each connection: one connection is one SMTP session."""

    recorder = None

    def connection_made(self, transport):
        starttls = self._original_transport is not None  # the same one
        super().connection_made(transport)
        if not starttls:
            self.recorder.write(
                event="connect",
                peer=list(transport.get_extra_info("peername")))


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == user
              and auth_data.password.decode() == password)
        return AuthResult(success=ok, handled=False,
                          auth_data=auth_data if ok else None)
    return check


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth")
    p.add_argument("--reject", action="append")
    p.add_argument("--tempfail", action="append")
    p.add_argument("--hangup", action="append")
    args = p.parse_args()

    rec = Recorder(args.out)
    CountingSMTP.recorder = rec
    handler = Handler(args, rec)
    kwargs = {"decode_data": False, "enable_SMTPUTF8": True}
    if args.starttls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*args.starttls)
        ctx.sni_callback = lambda sock, name, c: rec.write(event="sni",
                                                          name=name)
        kwargs.update(tls_context=ctx, require_starttls=True)
    if args.auth:
        user, password = args.auth.split(":", 1)
        kwargs.update(authenticator=authenticator(user, password),
                      auth_required=True,
                      auth_require_tls=bool(args.starttls))

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(
        lambda: CountingSMTP(handler, hostname="fake.smtp.test", **kwargs),
        host="127.0.0.1", port=0))
    print(server.sockets[0].getsockname()[1], flush=True)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
