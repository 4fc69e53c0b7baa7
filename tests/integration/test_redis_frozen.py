"""A Redis that stops answering (issue 13): stopped with SIGSTOP, or a
port that accepts connections and never answers. /healthz turns 503
within [redis] timeout, SIGTERM ends nudged within [daemon] stop_timeout,
and nudgectl gives up with a message and exit status 2."""
import signal
import socket
import threading
import time
import unittest

from harness import (Nudge, RedisServer, add_student, http_get, timeline,
                     wait_for)

FAST = """
[daemon]
stop_timeout = 3s
"""
REDIS_TIMEOUT = "timeout = 1s"


class SilentListener:
    """A TCP port that accepts every connection and never says a word."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.address = "127.0.0.1:%d" % self.port
        self.conns = []
        self.done = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.done:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def stop(self):
        self.done = True
        self.sock.close()
        for c in self.conns:
            c.close()


class LoadingRedis(SilentListener):
    """A "Redis" still loading its data: every command gets -LOADING."""

    def _accept(self):
        while not self.done:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        while True:
            try:
                data = c.recv(65536)
            except OSError:
                return
            if not data:
                return
            commands = data.count(b"\r\n*") + data.startswith(b"*")
            try:
                c.sendall(b"-LOADING Redis is loading the dataset in "
                          b"memory\r\n" * commands)
            except OSError:
                return


class LoadingRedisTest(unittest.TestCase):
    def test_no_empty_log_line(self):
        fake = LoadingRedis()
        self.addCleanup(fake.stop)
        nudge = Nudge(fake, extra=FAST, redis_extra=REDIS_TIMEOUT)
        self.addCleanup(nudge.cleanup)
        nudge.start()
        wait_for(lambda: "LOADING" in nudge.log_text(), 10,
                 what="the LOADING refusal in the log")
        time.sleep(1.5)
        self.assertEqual(nudge.stop(timeout=10), 0)
        for line in nudge.log_text().splitlines():
            self.assertNotRegex(line, r"(warn|info|error): *$", line)
        nudge.check_clean_log(self)


class FrozenRedisTest(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.r = self.redis.client()
        self.nudge = Nudge(self.redis, extra=FAST, redis_extra=REDIS_TIMEOUT)
        self.addCleanup(self.nudge.cleanup)
        # whatever happens, Redis runs again for the cleanup
        self.addCleanup(lambda: self.redis.proc.send_signal(signal.SIGCONT))

    def test_sigstop_health_503_and_sigterm_obeyed(self):
        add_student(self.r, "1")
        self.nudge.start()
        port = self.nudge.http_port
        wait_for(lambda: http_get(port, "/healthz")[0] == 200, 10,
                 what="healthy")
        self.redis.proc.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        wait_for(lambda: http_get(port, "/healthz")[0] == 503, 5,
                 what="/healthz 503 with Redis frozen")
        # within the timeout (1s) past the consumer's block (100ms), and
        # the poll's own slack
        self.assertLess(time.monotonic() - t0, 4)
        status, body = http_get(port, "/healthz")
        self.assertIn("Redis", body)
        t0 = time.monotonic()
        self.assertEqual(self.nudge.stop(timeout=10), 0,
                         self.nudge.log_text()[-3000:])
        self.assertLess(time.monotonic() - t0, 3 + 1.5)
        # Redis back: a new nudged takes up the work, and is healthy
        self.redis.proc.send_signal(signal.SIGCONT)
        self.r.xadd("slm:events", {"type": "tag", "student": "1",
                                   "tag": "after"})
        self.nudge.start()
        wait_for(lambda: http_get(port, "/healthz")[0] == 200, 10,
                 what="healthy again")
        wait_for(lambda: any(e.get("detail") == "added after"
                             for e in timeline(self.r, "1")), 10,
                 what="the event after the freeze")
        self.assertEqual(self.nudge.stop(), 0)
        self.nudge.check_clean_log(self)

    def test_nudgectl_gives_up_with_exit_2(self):
        self.redis.proc.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        res = self.nudge.ctl("timeline", "1", check=False)
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn("did not answer within 1000 ms", res.stderr)


class SilentPortTest(unittest.TestCase):
    """[redis] address is a port that accepts and never answers."""

    def setUp(self):
        self.silent = SilentListener()
        self.addCleanup(self.silent.stop)
        self.nudge = Nudge(self.silent, extra=FAST, redis_extra=REDIS_TIMEOUT)
        self.addCleanup(self.nudge.cleanup)

    def test_nudgectl_exits_2(self):
        t0 = time.monotonic()
        res = self.nudge.ctl("timeline", "1", check=False)
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn("did not answer within 1000 ms", res.stderr)

    def test_nudged_obeys_sigterm_and_sigint(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.nudge.start()
            time.sleep(1.5)  # it is connecting, reading, timing out
            self.assertIsNone(self.nudge.proc.poll(),
                              self.nudge.log_text()[-2000:])
            port = self.nudge.http_port
            self.assertEqual(http_get(port, "/healthz")[0], 503)
            t0 = time.monotonic()
            self.nudge.proc.send_signal(sig)
            try:
                status = self.nudge.proc.wait(10)
            finally:
                self.nudge.kill()
            self.assertLess(time.monotonic() - t0, 3 + 1.5)
            self.assertEqual(status, 0)
            self.nudge.proc = None
        self.assertIn("did not answer within 1000 ms",
                      self.nudge.log_text())
        self.nudge.check_clean_log(self)


if __name__ == "__main__":
    unittest.main()
