#!/usr/bin/python3
"""A fake SMS gateway for the sms channel's tests: the three forms at
/generic, /aliyun and /tencent of one HTTP/1.1 server on 127.0.0.1.

It checks every request as the provider would: Aliyun's HMAC-SHA1 over the
sorted, percent-encoded parameters (SignatureDoesNotMatch otherwise),
Tencent's TC3-HMAC-SHA256 over the Host it received (AuthFailure.
SignatureFailure), the generic form's bearer token or basic auth (401).
It records every accepted message, drops repeats of a generic
Idempotency-Key (and counts them), and fails on purpose when told.

    sms_gateway.py [--port 0] [--delay-ms N]    # first stdout line: the port

    GET  /received   the accepted messages, a JSON list of
                     {"form", "to", "text" | "template" + "params", "key",
                      "sender", "sign_name"}, and the generic form's "id"
    GET  /requests   every request to a form, in order, a JSON list of
                     {"form", "to", "key", "status" (the HTTP status
                      answered, or "closed"), "time" (when it arrived, unix
                      seconds)}
    GET  /stats      {"requests", "duplicates", "bad_signatures",
                      "accepted" (the messages in /received)}
    POST /control    {"rules": [{"suffix": "0001", "form": "aliyun",
                                 "code": "isv.MOBILE_NUMBER_ILLEGAL",
                                 "message": "..."} |
                                {"suffix": ..., "status": 500} |
                                {"suffix": ..., "status": 429,
                                 "retry_after": 2} |
                                {"suffix": ..., "slow_ms": 1500} |
                                {"suffix": ..., "close": true}]}
                     a rule applies to numbers ending in suffix (any form
                     when "form" is left out); "close" reads the request
                     and records it, then drops the connection unanswered
    POST /reset      forgets messages, counters and rules

The shared test credentials are the defaults of the options below.
"""
import argparse
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ALIYUN_ID, ALIYUN_SECRET = "testid", "testsecret"
TENCENT_ID, TENCENT_KEY = "AKIDtestsecretid", "tencent-test-key"
GENERIC_TOKEN = "generic-test-token"
BASIC_USER, BASIC_PASS = "nudge", "basic-test-pass"

# Tencent codes that fail the whole request (Response.Error) rather than
# one number (SendStatusSet).
TENCENT_REQUEST_ERRORS = ("AuthFailure", "InternalError", "RequestLimitExceeded",
                          "UnauthorizedOperation", "MissingParameter",
                          "FailedOperation.InsufficientBalanceInSmsPackage")
GENERIC_STATUS = {"invalid_number": 400, "rate_limited": 429,
                  "insufficient_balance": 402, "unauthorized": 401}


def percent(s):
    return urllib.parse.quote(s, safe="-_.~")


def aliyun_signature(method, params, secret):
    canon = "&".join(percent(k) + "=" + percent(v)
                     for k, v in sorted(params.items()))
    sts = method + "&%2F&" + percent(canon)
    digest = hmac.new((secret + "&").encode(), sts.encode(), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode()


def tc3_signature(key, service, host, content_type, action, ts, body):
    canon = "POST\n/\n\ncontent-type:%s\nhost:%s\nx-tc-action:%s\n\n%s\n%s" % (
        content_type.lower(), host.lower(), action.lower(),
        "content-type;host;x-tc-action", hashlib.sha256(body).hexdigest())
    date = time.strftime("%Y-%m-%d", time.gmtime(ts))
    sts = "TC3-HMAC-SHA256\n%d\n%s/%s/tc3_request\n%s" % (
        ts, date, service, hashlib.sha256(canon.encode()).hexdigest())

    def mac(k, m):
        return hmac.new(k, m.encode(), hashlib.sha256).digest()
    k = mac(mac(mac(("TC3" + key).encode(), date), service), "tc3_request")
    return date, hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.received = []
            self.rules = []
            self.keys = {}       # generic Idempotency-Key -> id
            self.nonces = set()  # Aliyun SignatureNonce values seen
            self.requests = []   # what /requests lists
            self.stats = {"requests": 0, "duplicates": 0, "bad_signatures": 0}
            self.seq = 0

    def rule_for(self, form, to):
        with self.lock:
            for r in self.rules:
                if r.get("form", form) == form and to.endswith(r["suffix"]):
                    return r
        return None

    def next_id(self):
        with self.lock:
            self.seq += 1
            return self.seq


class Fail(Exception):
    """An answer other than success: status, body, extra headers."""

    def __init__(self, status, body, headers=()):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, list(headers)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeSMS/1"

    def log_message(self, fmt, *args):
        pass

    # --- plumbing ---------------------------------------------------------

    def answer(self, status, obj, headers=()):
        body = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        st = self.server.state
        with st.lock:
            if self.path == "/received":
                return self.answer(200, st.received)
            if self.path == "/requests":
                return self.answer(200, st.requests)
            if self.path == "/stats":
                return self.answer(200, dict(st.stats,
                                             accepted=len(st.received)))
        self.answer(404, {"error": "no such path"})

    def do_POST(self):
        st = self.server.state
        body = self.read_body()
        if self.path == "/control":
            with st.lock:
                st.rules = json.loads(body or b"{}").get("rules", [])
            return self.answer(200, {"ok": True})
        if self.path == "/reset":
            st.reset()
            return self.answer(200, {"ok": True})
        form = self.path.strip("/").split("?")[0]
        handler = {"generic": self.generic, "aliyun": self.aliyun,
                   "tencent": self.tencent}.get(form)
        if not handler:
            return self.answer(404, {"error": "no such path"})
        arrived = time.time()
        with st.lock:
            st.stats["requests"] += 1
        if self.server.delay_ms:
            time.sleep(self.server.delay_ms / 1000.0)
        self.record = {"to": None, "key": None}

        def log(status):  # before the answer: a test that saw it sees this
            with st.lock:
                st.requests.append({"form": form, "to": self.record["to"],
                                    "key": self.record["key"],
                                    "status": status, "time": arrived})
        try:
            status, obj = handler(body)
            log(status)
            self.answer(status, obj)
        except Fail as f:
            log(f.status)
            self.answer(f.status, f.body, f.headers)
        except ConnectionDropped:
            log("closed")
            self.close_connection = True

    # --- shared -----------------------------------------------------------

    def bad_signature(self, status, body):
        with self.server.state.lock:
            self.server.state.stats["bad_signatures"] += 1
        raise Fail(status, body)

    def accept(self, form, record, native_error):
        """Applies a rule for the number, else records the message.
        native_error(code, message) raises the form's own error answer."""
        st = self.server.state
        self.record = record
        rule = st.rule_for(form, record["to"])
        if rule:
            if rule.get("slow_ms"):
                time.sleep(rule["slow_ms"] / 1000.0)
            elif rule.get("close"):
                with st.lock:
                    st.received.append(dict(record, closed=True))
                    if form == "generic" and record.get("key") is not None:
                        st.keys[record["key"]] = "gw-dropped"
                raise ConnectionDropped()
            elif rule.get("status"):
                headers = []
                if rule.get("retry_after") is not None:
                    headers.append(("Retry-After", str(rule["retry_after"])))
                raise Fail(rule["status"], {"message": "server trouble"},
                           headers)
            elif rule.get("code"):
                native_error(rule["code"], rule.get("message", rule["code"]))
        with st.lock:
            st.received.append(record)

    # --- generic ----------------------------------------------------------

    def generic(self, body):
        auth = self.headers.get("Authorization", "")
        basic = base64.b64encode(
            ("%s:%s" % (BASIC_USER, BASIC_PASS)).encode()).decode()
        if auth not in ("Bearer " + GENERIC_TOKEN, "Basic " + basic):
            self.bad_signature(401, {"code": "unauthorized",
                                     "message": "bad credentials"})
        msg = json.loads(body)
        key = self.headers.get("Idempotency-Key")
        self.record = {"to": msg.get("to"), "key": key}
        if key is not None and msg.get("idempotency_key") != key:
            raise Fail(400, {"code": "bad_request",
                             "message": "idempotency_key field != header"})
        st = self.server.state
        with st.lock:
            if key is not None and key in st.keys:
                st.stats["duplicates"] += 1
                return 200, {"id": st.keys[key], "status": "duplicate"}
        record = {"form": "generic", "to": msg.get("to"),
                  "sender": msg.get("sender"), "key": key,
                  "auth": auth.split(" ")[0],
                  "callback_url": msg.get("callback_url")}
        if "text" in msg:
            record["text"] = msg["text"]
        else:
            record["template"], record["params"] = msg.get("template"), msg.get("params")

        def native_error(code, message):
            status = GENERIC_STATUS.get(code, 400)
            headers = [("Retry-After", "2")] if status == 429 else []
            raise Fail(status, {"code": code, "message": message}, headers)
        self.accept("generic", record, native_error)
        mid = "gw-%d" % st.next_id()
        with st.lock:
            record["id"] = mid
            if key is not None:
                st.keys[key] = mid
        return 200, {"id": mid, "status": "queued"}

    # --- aliyun -----------------------------------------------------------

    def aliyun(self, body):
        if self.headers.get("Content-Type", "").split(";")[0] != \
                "application/x-www-form-urlencoded":
            raise Fail(400, {"Code": "InvalidParameter", "Message": "form body"})
        params = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True,
                                             strict_parsing=True))
        sig = params.pop("Signature", "")
        request_id = str(uuid.uuid4()).upper()
        want = {"AccessKeyId": ALIYUN_ID, "Action": "SendSms", "Format": "JSON",
                "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
                "Version": "2017-05-25", "RegionId": "cn-hangzhou"}
        for k, v in want.items():
            if params.get(k) != v:
                raise Fail(400, {"Code": "InvalidParameter", "RequestId": request_id,
                                 "Message": "%s must be %s" % (k, v)})
        time.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ")
        if not hmac.compare_digest(sig, aliyun_signature("POST", params,
                                                         ALIYUN_SECRET)):
            self.bad_signature(400, {
                "Code": "SignatureDoesNotMatch", "RequestId": request_id,
                "Message": "Specified signature is not matched with our "
                           "calculation."})
        st = self.server.state
        with st.lock:
            if params["SignatureNonce"] in st.nonces:
                raise Fail(400, {"Code": "SignatureNonceUsed",
                                 "RequestId": request_id,
                                 "Message": "Specified signature nonce was used already."})
            st.nonces.add(params["SignatureNonce"])
        record = {"form": "aliyun", "to": params.get("PhoneNumbers"),
                  "template": params.get("TemplateCode"),
                  "params": json.loads(params["TemplateParam"])
                  if "TemplateParam" in params else None,
                  "key": params.get("OutId"), "sign_name": params.get("SignName")}

        def native_error(code, message):
            raise Fail(200, {"Code": code, "Message": message,
                             "RequestId": request_id})
        self.accept("aliyun", record, native_error)
        return 200, {"Code": "OK", "Message": "OK", "RequestId": request_id,
                     "BizId": "%d^%d" % (900619746936498440 + st.next_id(), 0)}

    # --- tencent ----------------------------------------------------------

    def tencent(self, body):
        request_id = str(uuid.uuid4())

        def error(code, message):
            raise Fail(200, {"Response": {"Error": {"Code": code, "Message": message},
                                          "RequestId": request_id}})
        h = self.headers
        auth = h.get("Authorization", "")
        try:
            algo, rest = auth.split(" ", 1)
            fields = dict(part.strip().split("=", 1) for part in rest.split(","))
            sid, date, service, term = fields["Credential"].split("/")
            ts = int(h["X-TC-Timestamp"])
        except (ValueError, KeyError):
            error("AuthFailure.InvalidAuthorization", "Authorization is invalid")
        if h.get("X-TC-Action") != "SendSms" or h.get("X-TC-Version") != "2021-01-11":
            error("InvalidAction", "action or version")
        if h.get("X-TC-Region") != "ap-guangzhou":
            error("InvalidParameter", "region")
        want_date, want_sig = tc3_signature(
            TENCENT_KEY, "sms", h.get("Host", ""), h.get("Content-Type", ""),
            h.get("X-TC-Action", ""), ts, body)
        if (algo != "TC3-HMAC-SHA256" or sid != TENCENT_ID or service != "sms"
                or term != "tc3_request" or date != want_date
                or fields.get("SignedHeaders") != "content-type;host;x-tc-action"
                or not hmac.compare_digest(fields.get("Signature", ""), want_sig)):
            with self.server.state.lock:
                self.server.state.stats["bad_signatures"] += 1
            error("AuthFailure.SignatureFailure",
                  "The provided credentials could not be validated. "
                  "Please check your signature is correct.")
        msg = json.loads(body)
        phones = msg.get("PhoneNumberSet") or [""]
        params = msg.get("TemplateParamSet")
        if params is not None and not all(isinstance(p, str) for p in params):
            error("InvalidParameterValue.TemplateParameterFormatError",
                  "TemplateParamSet must be strings")
        record = {"form": "tencent", "to": phones[0],
                  "template": msg.get("TemplateId"), "params": params,
                  "key": msg.get("SessionContext"),
                  "sign_name": msg.get("SignName"),
                  "sdk_app_id": msg.get("SmsSdkAppId")}

        def native_error(code, message):
            if code.startswith(TENCENT_REQUEST_ERRORS):
                error(code, message)
            raise Fail(200, {"Response": {"SendStatusSet": [{
                "SerialNo": "", "PhoneNumber": phones[0], "Fee": 0,
                "SessionContext": msg.get("SessionContext", ""),
                "Code": code, "Message": message, "IsoCode": "CN"}],
                "RequestId": request_id}})
        self.accept("tencent", record, native_error)
        return 200, {"Response": {"SendStatusSet": [{
            "SerialNo": "5000:%d" % (104571066915705365 + self.server.state.next_id()),
            "PhoneNumber": phones[0], "Fee": 1,
            "SessionContext": msg.get("SessionContext", ""),
            "Code": "Ok", "Message": "send success", "IsoCode": "CN"}],
            "RequestId": request_id}}


class ConnectionDropped(Exception):
    pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        """A client that went away (nudged killed mid-request) is no
        error of the gateway's; anything else is printed as before."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay-ms", type=int, default=0)
    args = ap.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    server.state = State()
    server.delay_ms = args.delay_ms
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
