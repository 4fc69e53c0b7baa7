#!/usr/bin/python3
"""A fake WeCom (企业微信) API for the wecom channel's tests.

    wecom_server.py [--port 0] [--corp-id ww1] [--secret S] [--agent-id N]
                    [--robot-key K ...] [--expires-in 7200] [--delay-ms 0]
                    [--member-limit 30/60] [--robot-limit 20/60]

Prints the port it listens on (127.0.0.1) as its first line. HTTP/1.1 with
keep-alive and Content-Length, like WeCom. What it serves:

  GET  /cgi-bin/gettoken?corpid=&corpsecret=       a token, counted
  POST /cgi-bin/message/send?access_token=          members
  POST /cgi-bin/externalcontact/add_msg_template?access_token=
  POST /cgi-bin/webhook/send?key=                   group robots
  GET  /received     every message it accepted, in order (JSON list)
  GET  /stats        {"gettoken": n, "violations": [...], "duplicates": n,
                      "refused": [...], "bad_requests": [...]}
  POST /control      failures on purpose (a JSON object, keys below)

It checks what it receives as WeCom would: the token (unknown or revoked
-> 40014, expired -> 42001), the agentid, the fields of each message, and
it runs WeCom's duplicate check (the same request to the same member
within duplicate_check_interval is answered ok and not delivered). WeCom
silently drops more than 30 messages a minute to one member and 20 to one
robot; the fake delivers them but records each such message in
"violations", so a test can assert that the sender stayed under.

/control keys (each optional):
  revoke: true                 the current token becomes invalid (40014)
  revoke_after: N              ... once N more messages were delivered
  expires_in: N                life of the tokens issued from now on
  fail_next: {"errcode": N, "count": K}   the next K sends answer N
  fail_user: {"user": U, "errcode": N}    sends to U answer N (0 clears)
  gettoken_errcode: N          gettoken answers N (0: works again)
  delay_ms: N                  every send's answer waits N ms (not gettoken's)
  drop_next: K                 the next K sends get no answer (closed)
  status_next: {"status": 500, "count": K}  the next K sends get it
"""
import argparse
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.expires_in = args.expires_in
        self.delay_ms = args.delay_ms
        self.tokens = {}  # token -> expiry (monotonic seconds)
        self.revoked = set()
        self.current = None
        self.serial = 0
        self.gettoken = 0
        self.gettoken_errcode = 0
        self.received = []
        self.violations = []
        self.refused = []
        self.bad_requests = []
        self.duplicates = 0
        self.dup_seen = {}  # (key, body) -> time
        self.arrivals = {}  # rate key -> [times]
        self.fail_next = []  # errcodes, one per send
        self.fail_user = {}
        self.drop_next = 0
        self.revoke_after = None
        self.status_next = []

    def issue_token(self):
        """(token, expires_in). As WeCom, the same token while it is
        valid, with the seconds it has left."""
        now = time.monotonic()
        if self.current and self.current not in self.revoked and \
                self.tokens[self.current] - now >= 1:
            return self.current, int(self.tokens[self.current] - now)
        self.serial += 1
        token = "FAKE-ACCESS-TOKEN-%06d" % self.serial
        self.tokens[token] = now + self.expires_in
        self.current = token
        return token, self.expires_in

    def token_error(self, token):
        if token not in self.tokens or token in self.revoked:
            return 40014
        if self.tokens[token] <= time.monotonic():
            return 42001
        return 0

    def over_limit(self, rate_key, limit):
        """Records an arrival; True when it is more than WeCom allows."""
        count, window = limit
        now = time.monotonic()
        times = [t for t in self.arrivals.get(rate_key, []) if t > now - window]
        times.append(now)
        self.arrivals[rate_key] = times
        return len(times) > count


def parse_limit(text):
    count, window = text.split("/")
    return int(count), float(window)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # a channel opens many connections at once


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    @property
    def state(self):
        return self.server.state

    def answer(self, obj, status=200, delay=False):
        if delay and self.state.delay_ms:
            time.sleep(self.state.delay_ms / 1000.0)
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        st = self.state
        if url.path == "/cgi-bin/gettoken":
            with st.lock:
                st.gettoken += 1
                code = st.gettoken_errcode
                if not code and (q.get("corpid") != st.args.corp_id):
                    code = 40013
                elif not code and q.get("corpsecret") != st.args.secret:
                    code = 40001
                token, expires = (None, 0) if code else st.issue_token()
            if code:
                return self.answer({"errcode": code, "errmsg": "refused"})
            return self.answer({"errcode": 0, "errmsg": "ok",
                                "access_token": token, "expires_in": expires})
        if url.path == "/received":
            with st.lock:
                return self.answer(list(st.received))
        if url.path == "/stats":
            with st.lock:
                return self.answer({
                    "gettoken": st.gettoken, "violations": st.violations,
                    "duplicates": st.duplicates, "refused": st.refused,
                    "bad_requests": st.bad_requests})
        self.answer({"errcode": 404}, 404)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        raw = self.body()
        if url.path == "/control":
            return self.control(json.loads(raw or b"{}"))
        handlers = {
            "/cgi-bin/message/send": self.member,
            "/cgi-bin/externalcontact/add_msg_template": self.external,
            "/cgi-bin/webhook/send": self.robot,
        }
        if url.path not in handlers:
            return self.answer({"errcode": 404}, 404)
        st = self.state
        with st.lock:
            if st.drop_next > 0:
                st.drop_next -= 1
                self.close_connection = True
                self.connection.shutdown(2)
                return None
            if st.status_next:
                status = st.status_next.pop(0)
                return self.answer({"errcode": -1}, status)
        try:
            msg = json.loads(raw)
        except ValueError:
            return self.answer({"errcode": 47001, "errmsg": "bad json"})
        with st.lock:
            reply = handlers[url.path](q, msg)
        return self.answer(reply, delay=True)

    def control(self, c):
        st = self.state
        with st.lock:
            if c.get("revoke") and st.current:
                st.revoked.add(st.current)
            if "revoke_after" in c:
                st.revoke_after = c["revoke_after"]
            if "expires_in" in c:
                st.expires_in = c["expires_in"]
            if "fail_next" in c:
                st.fail_next += [c["fail_next"]["errcode"]] * \
                    c["fail_next"].get("count", 1)
            if "fail_user" in c:
                st.fail_user[c["fail_user"]["user"]] = c["fail_user"]["errcode"]
            if "gettoken_errcode" in c:
                st.gettoken_errcode = c["gettoken_errcode"]
            if "delay_ms" in c:
                st.delay_ms = c["delay_ms"]
            if "drop_next" in c:
                st.drop_next = c["drop_next"]
            if "status_next" in c:
                st.status_next += [c["status_next"]["status"]] * \
                    c["status_next"].get("count", 1)
        self.answer({"errcode": 0})

    # --- the three APIs, under the state's lock ------------------------------

    def refuse(self, api, code, who=""):
        self.state.refused.append({"api": api, "errcode": code, "to": who})
        return {"errcode": code, "errmsg": "refused by the fake"}

    def bad(self, api, why, msg):
        self.state.bad_requests.append({"api": api, "why": why, "msg": msg})
        return {"errcode": 40058, "errmsg": "invalid parameter: " + why}

    def forced(self, api, who):
        st = self.state
        if st.fail_next:
            return self.refuse(api, st.fail_next.pop(0), who)
        if st.fail_user.get(who):
            return self.refuse(api, st.fail_user[who], who)
        return None

    def deliver(self, api, who, msg, rate_key=None, limit=None):
        st = self.state
        entry = {"api": api, "to": who, "msg": msg, "time": time.time()}
        if rate_key is not None and st.over_limit(rate_key, limit):
            st.violations.append({"api": api, "to": who})
            entry["dropped"] = True  # WeCom would drop it without a word
        st.received.append(entry)
        if st.revoke_after is not None:
            st.revoke_after -= 1
            if st.revoke_after <= 0:
                st.revoked.add(st.current)
                st.revoke_after = None

    def member(self, q, msg):
        st = self.state
        code = st.token_error(q.get("access_token"))
        if code:
            return self.refuse("member", code, msg.get("touser", ""))
        who = msg.get("touser")
        mtype = msg.get("msgtype")
        if not isinstance(who, str) or not who:
            return self.bad("member", "touser", msg)
        if msg.get("agentid") != st.args.agent_id:
            return self.refuse("member", 40056, who)
        if mtype not in ("text", "markdown", "textcard") or \
                not isinstance(msg.get(mtype), dict):
            return self.bad("member", "msgtype", msg)
        part = msg[mtype]
        if mtype == "textcard":
            if not part.get("title") or not part.get("description") or \
                    not part.get("url"):
                return self.bad("member", "textcard", msg)
        elif not part.get("content"):
            return self.refuse("member", 44004, who)
        forced = self.forced("member", who)
        if forced:
            return forced
        st.serial += 1
        msgid = "FAKE-MSG-%06d" % st.serial
        if msg.get("enable_duplicate_check") == 1:
            key = (who, json.dumps(msg, sort_keys=True))
            interval = msg.get("duplicate_check_interval", 1800)
            seen = st.dup_seen.get(key)
            now = time.monotonic()
            if seen is not None and now - seen < interval:
                st.duplicates += 1
                return {"errcode": 0, "errmsg": "ok", "msgid": msgid}
            st.dup_seen[key] = now
        self.deliver("member", who, msg, ("member", who), st.member_limit)
        return {"errcode": 0, "errmsg": "ok", "invaliduser": "",
                "msgid": msgid}

    def external(self, q, msg):
        st = self.state
        ids = msg.get("external_userid")
        who = ids[0] if isinstance(ids, list) and ids else ""
        code = st.token_error(q.get("access_token"))
        if code:
            return self.refuse("external", code, who)
        if msg.get("chat_type") != "single" or not who:
            return self.bad("external", "chat_type/external_userid", msg)
        if not msg.get("sender"):
            return self.bad("external", "sender", msg)
        if not (msg.get("text") or {}).get("content"):
            return self.bad("external", "text", msg)
        forced = self.forced("external", who)
        if forced:
            return forced
        st.serial += 1
        self.deliver("external", who, msg)
        return {"errcode": 0, "errmsg": "ok", "fail_list": [],
                "msgid": "FAKE-TPL-%06d" % st.serial}

    def robot(self, q, msg):
        st = self.state
        key = q.get("key", "")
        if key not in st.args.robot_key:
            return self.refuse("robot", 93000, "")
        mtype = msg.get("msgtype")
        if mtype not in ("text", "markdown") or \
                not (msg.get(mtype) or {}).get("content"):
            return self.bad("robot", "msgtype", msg)
        forced = self.forced("robot", key)
        if forced:
            return forced
        self.deliver("robot", key, msg, ("robot", key), st.robot_limit)
        return {"errcode": 0, "errmsg": "ok"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--corp-id", default="ww-fake-corp")
    p.add_argument("--secret", default="fake-secret")
    p.add_argument("--agent-id", type=int, default=1000002)
    p.add_argument("--robot-key", action="append", default=[])
    p.add_argument("--expires-in", type=int, default=7200)
    p.add_argument("--delay-ms", type=int, default=0,
                   help="every send's answer waits this long")
    p.add_argument("--member-limit", default="30/60",
                   help="COUNT/SECONDS WeCom allows to one member")
    p.add_argument("--robot-limit", default="20/60",
                   help="COUNT/SECONDS WeCom allows to one robot")
    args = p.parse_args()
    state = State(args)
    state.member_limit = parse_limit(args.member_limit)
    state.robot_limit = parse_limit(args.robot_limit)
    server = Server(("127.0.0.1", args.port), Handler)
    server.state = state
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
