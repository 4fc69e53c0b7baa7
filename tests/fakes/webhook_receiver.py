"""A webhook receiver for the tests: it checks nudge's signature the way
docs/channels.md tells a site to, records what it accepted, and can fail
on purpose.

    WEBHOOK_SECRET=s3cret python3 webhook_receiver.py [PORT] [--mode MODE]

Listens on 127.0.0.1:PORT (0: a free port) and prints "port N" once it
listens. Any POST but /control is a delivery:
  - a missing or bad signature, or a timestamp more than 5 minutes off:
    401, counted as rejected;
  - then by mode: ok (200 {"id": "wh-N"}; a repeated Idempotency-Key is
    answered with its first id and counted as a duplicate), 500, 429 (with
    Retry-After: 3), slow (sleeps SLOW_SECONDS, then 200), drop (closes the
    connection without answering).
POST /control {"mode": "..."} switches the mode; GET /received answers
{"accepted": [bodies], "duplicates": n, "rejected": n, "requests": n}.
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "500", "429", "slow", "drop")
SLOW_SECONDS = 2.0
MAX_SKEW = 300


def signature_ok(secret, headers, body):
    """The receiver's check from docs/channels.md."""
    ts = headers.get("X-Nudge-Timestamp", "")
    want = "sha256=" + hmac.new(secret, ts.encode() + b"." + body,
                                hashlib.sha256).hexdigest()
    return (hmac.compare_digest(want, headers.get("X-Nudge-Signature", ""))
            and ts.isdigit() and abs(time.time() - int(ts)) <= MAX_SKEW)


class State:
    def __init__(self, secret, mode):
        self.secret = secret
        self.mode = mode
        self.lock = threading.Lock()
        self.accepted = []
        self.ids = {}  # Idempotency-Key -> the id answered first
        self.duplicates = 0
        self.rejected = 0
        self.requests = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj=None, headers=()):
        data = json.dumps(obj if obj is not None else {}).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def read_body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        st = self.server.state
        if self.path != "/received":
            return self.reply(404)
        with st.lock:
            self.reply(200, {"accepted": st.accepted,
                             "duplicates": st.duplicates,
                             "rejected": st.rejected,
                             "requests": st.requests})

    def do_POST(self):
        st = self.server.state
        body = self.read_body()
        if self.path == "/control":
            mode = json.loads(body or b"{}").get("mode")
            if mode not in MODES:
                return self.reply(400, {"error": "mode: one of %s" % (MODES,)})
            with st.lock:
                st.mode = mode
            return self.reply(200, {"mode": mode})
        with st.lock:
            st.requests += 1
            mode = st.mode
        if not signature_ok(st.secret, self.headers, body):
            with st.lock:
                st.rejected += 1
            return self.reply(401, {"error": "bad signature"})
        if mode == "drop":
            self.close_connection = True
            return
        if mode == "slow":
            time.sleep(SLOW_SECONDS)
        elif mode == "500":
            return self.reply(500, {"error": "on purpose"})
        elif mode == "429":
            return self.reply(429, {"error": "slow down"},
                              [("Retry-After", "3")])
        self.accept(json.loads(body))

    def accept(self, message):
        st = self.server.state
        key = self.headers.get("Idempotency-Key", "")
        with st.lock:
            if key in st.ids:
                st.duplicates += 1
                return self.reply(200, {"id": st.ids[key], "duplicate": True})
            st.ids[key] = "wh-%d" % (len(st.accepted) + 1)
            st.accepted.append({"key": key, "body": message})
            answer = {"id": st.ids[key]}
        self.reply(200, answer)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a burst of connections, not SYN retries


def main(argv):
    port, mode = 0, "ok"
    args = list(argv[1:])
    if "--mode" in args:
        i = args.index("--mode")
        mode = args[i + 1]
        del args[i:i + 2]
    if args:
        port = int(args[0])
    if mode not in MODES:
        sys.exit("mode: one of %s" % (MODES,))
    secret = os.environ.get("WEBHOOK_SECRET")
    if not secret:
        sys.exit("set WEBHOOK_SECRET")
    server = Server(("127.0.0.1", port), Handler)
    server.state = State(secret.encode(), mode)
    print("port %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
