"""The event pipeline end to end: nudgectl emit -> slm:events -> nudged ->
timelines, against a throwaway Redis; garbage, crashes and a Redis outage."""
import os
import signal
import subprocess
import time
import unittest

import redis

from harness import (NUDGED, Nudge, NudgeTestCase, RedisServer, add_student,
                     http_get, metric, timeline, wait_for)

STREAM = "slm:events"
GROUP = "nudged"


def group_info(r):
    for g in r.xinfo_groups(STREAM):
        if g["name"] == GROUP:
            return g
    return None


def all_acked(r, total):
    """Every one of total events read by the group and none pending."""
    g = group_info(r)
    if not g or g["pending"] != 0:
        return False
    return (g.get("entries-read") or 0) >= total or g.get("lag") == 0


class EventPipelineTest(NudgeTestCase, unittest.TestCase):
    def test_emit_to_timeline(self):
        n = self.nudge
        n.ctl("emit", "created", "42", "name=张伟", "phone=+8613812345678",
              "email=zhang.wei@example.edu", "stage=lead")
        n.ctl("emit", "stage", "42", "to=consulting")
        n.ctl("emit", "tag", "42", "tag=intent:high")
        n.ctl("emit", "assigned", "42", "owner=s7")
        n.ctl("emit", "followup", "42", "staff=s7", "note=called, call 13912345678")
        n.ctl("emit", "reply", "42", "channel=sms", "text=好的")
        n.ctl("emit", "untag", "42", "tag=intent:high")
        # the data was written with the event
        self.assertEqual(self.r.hget("slm:student:{42}", "stage"), "consulting")
        self.assertEqual(self.r.hget("slm:student:{42}", "owner"), "s7")
        self.assertEqual(self.r.smembers("slm:student:{42}:tags"), set())
        n.start()
        entries = wait_for(lambda: len(timeline(self.r, "42")) >= 6 and
                           timeline(self.r, "42"), what="6 timeline entries")
        self.assertEqual([e["type"] for e in entries],
                         ["stage", "tag", "assigned", "followup", "reply", "tag"])
        self.assertEqual(entries[0]["detail"], "lead -> consulting")
        self.assertEqual(entries[1]["detail"], "added intent:high")
        self.assertEqual(entries[3]["actor"], "s7")
        self.assertEqual(entries[4]["channel"], "sms")
        self.assertEqual(entries[5]["detail"], "removed intent:high")
        out = n.ctl("timeline", "42").stdout
        self.assertIn("+86138****5678", out)
        self.assertIn("z***@example.edu", out)
        self.assertIn("139****5678", out)
        self.assertNotIn("13812345678", out)
        self.assertNotIn("13912345678", out)
        self.assertLess(out.index("lead -> consulting"), out.index("removed"))
        unmasked = n.ctl("timeline", "42", "--unmasked").stdout
        self.assertIn("+8613812345678", unmasked)
        self.stop_clean()

    def test_hostile_ids_and_types_in_the_log(self):
        """Every log line masks contacts and escapes control characters
        (core/log.c): a student id holding a phone and an email, and a
        type holding a newline and an ESC sequence, as rejected events."""
        add_student(self.r, "7")
        n = self.nudge
        n.start()
        wait_for(lambda: "nudged started" in n.log_text(), 10,
                 what="nudged to start")
        self.r.xadd(STREAM, {"type": "stage", "to": "x",
                             "student": "13800138000 zhang@example.cn"})
        self.r.xadd(STREAM, {"type": "x\nnudged error: forged\x1b[2J",
                             "student": "7"})
        self.r.xadd(STREAM, {"type": "stage", "student": "+8613800138000",
                             "to": "x"})
        wait_for(lambda: n.log_text().count("rejected (") >= 3,
                 what="three rejected events in the log")
        self.stop_clean()
        log = n.log_text()
        self.assertIn('student id "138****8000 z***@example.cn"', log)
        self.assertIn('no student "+86138****8000"', log)
        self.assertIn('"x\\nnudged error: forged\\x1b[2J"', log)
        self.assertNotIn("13800138000", log)
        self.assertNotIn("zhang@example.cn", log)
        self.assertNotIn("\x1b", log)
        for line in log.splitlines():  # no forged line
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT[\d:.]+Z nudged ")

    def test_timeline_prints_no_control_characters(self):
        """nudgectl timeline shows data from the CRM escaped: an ESC
        sequence in a name or a note moves no cursor, a newline forges no
        entry."""
        add_student(self.r, "8", name="x\x1b[2Jy")
        self.r.xadd(STREAM, {"type": "followup", "student": "8",
                             "staff": "s1",
                             "note": "ok\n2026-01-01 00:00:00  sent  forged"})
        self.nudge.start()
        wait_for(lambda: len(timeline(self.r, "8")) >= 1,
                 what="the followup entry")
        out = self.nudge.ctl("timeline", "8").stdout
        self.assertNotIn("\x1b", out)
        self.assertIn("x\\x1b[2Jy", out)
        self.assertIn("ok\\n2026-01-01", out)
        self.assertEqual(len(out.strip().splitlines()), 3, out)  # 2 + 1
        self.stop_clean()

    def test_emit_refuses_unknown_student_and_bad_usage(self):
        res = self.nudge.ctl("emit", "stage", "nobody", "to=x", check=False)
        self.assertEqual(res.returncode, 1)
        self.assertIn('no student "nobody"', res.stderr)
        self.assertFalse(self.r.exists("slm:student:{nobody}"))
        res = self.nudge.ctl("emit", "stage", "42", check=False)
        self.assertEqual(res.returncode, 2)
        self.assertIn('stage event has no "to" field', res.stderr)
        res = self.nudge.ctl("emit", check=False)
        self.assertEqual(res.returncode, 2)

    def test_emit_refuses_a_stage_the_rules_do_not_list(self):
        self.nudge.write("rules/stages.rules",
                         "stages lead contacted consulting admitted\n")
        add_student(self.r, "5")
        res = self.nudge.ctl("emit", "stage", "5", "to=admited", check=False)
        self.assertEqual(res.returncode, 1)
        self.assertIn('stage "admited" is not on the rules\' stages line: '
                      'did you mean "admitted"?', res.stderr)
        self.assertEqual(self.r.xlen(STREAM), 0)
        res = self.nudge.ctl("emit", "--force", "stage", "5", "to=admited",
                             check=False)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.r.hget("slm:student:{5}", "stage"), "admited")
        res = self.nudge.ctl("emit", "stage", "5", "to=admitted")
        self.assertEqual(self.r.xlen(STREAM), 2)

    def test_garbage_mixed_in_10000_events(self):
        students = 200
        for i in range(students):
            add_student(self.r, str(i))
        pipe = self.r.pipeline(transaction=False)
        good = bad = 0
        garbage = [
            {"type": "stage", "to": "x"},                      # no student
            {"type": "stage", "student": "99999", "to": "x"},  # unknown
            {"type": "no such type!", "student": "1"},         # bad type
            {"type": "tag", "student": "2"},                   # missing field
            {"student": "3"},                                  # no type
            {"type": "created", "student": "a{b}"},            # bad id
        ]
        for i in range(10000):
            if i % 100 == 50:
                pipe.xadd(STREAM, garbage[bad % len(garbage)])
                bad += 1
            else:
                pipe.xadd(STREAM, {"type": "tag", "student": str(i % students),
                                   "tag": "t%d" % i})
                good += 1
        pipe.execute()
        self.assertEqual((good, bad), (9900, 100))
        self.nudge.start()
        wait_for(lambda: all_acked(self.r, 10000), 60, what="all acked")
        recorded = sum(len(timeline(self.r, str(i))) for i in range(students))
        # good ones recorded; rejected events of known students (1, 2, 3)
        # leave a "rejected" entry on their timeline
        rejected_on_timelines = sum(
            1 for i in (1, 2, 3) for e in timeline(self.r, str(i))
            if e["type"] == "rejected")
        self.assertEqual(recorded - rejected_on_timelines, good)
        self.assertEqual(rejected_on_timelines, 50)
        self.assertEqual(self.r.xlen("slm:events:rejected"), bad)
        reasons = {}
        for _id, f in self.r.xrange("slm:events:rejected"):
            reasons[f["reason"]] = reasons.get(f["reason"], 0) + 1
        self.assertEqual(reasons, {"no_student": 17, "unknown_student": 17,
                                   "bad_type": 17, "missing_field": 17,
                                   "no_type": 16, "bad_student_id": 16})
        status, text = http_get(self.nudge.http_port, "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(metric(text, "nudge_events_rejected_total"), bad)
        self.assertEqual(metric(text, 'nudge_events_total{type="tag"}'), good)
        self.assertEqual(group_info(self.r)["pending"], 0)
        self.stop_clean()

    BACKLOG, STUDENTS = 30000, 100

    def use_aof_redis(self):
        """Swaps the test's Redis for one with AOF (fsync always), so that
        a kill keeps what it had acknowledged."""
        self.redis.kill()
        self.redis = RedisServer(appendonly=True).start()
        self.r = self.redis.client()
        self.nudge.cleanup()
        self.nudge = Nudge(self.redis)

    def start_on_backlog(self):
        """BACKLOG followups with distinct notes over STUDENTS students;
        nudged started on them, returning once it is part-way through."""
        for i in range(self.STUDENTS):
            add_student(self.r, str(i))
        pipe = self.r.pipeline(transaction=False)
        for i in range(self.BACKLOG):
            pipe.xadd(STREAM, {"type": "followup",
                               "student": str(i % self.STUDENTS),
                               "staff": "s1", "note": "n%d" % i})
        pipe.execute()
        self.nudge.start()
        wait_for(lambda: ((group_info(self.r) or {}).get("entries-read") or 0) > 3000,
                 20, interval=0.001, what="some progress")

    def recorded_notes(self):
        notes = set()
        for i in range(self.STUDENTS):
            for e in timeline(self.r, str(i)):
                notes.add(e["detail"])
        return notes

    def test_sigkill_mid_backlog_loses_nothing(self):
        self.start_on_backlog()
        self.nudge.kill()
        read_at_kill = group_info(self.r)["entries-read"]
        self.assertLess(read_at_kill, self.BACKLOG, "backlog finished before the kill")
        self.nudge.start()
        wait_for(lambda: all_acked(self.r, self.BACKLOG), 60, what="all acked")
        self.assertEqual(len(self.recorded_notes()), self.BACKLOG, "events lost")
        print("\n  killed after %d of %d events read; all recorded after "
              "restart" % (read_at_kill, self.BACKLOG))
        self.stop_clean()

    def test_redis_killed_mid_backlog_acks_only_what_is_written(self):
        """The writer keeps a batch in flight and sends its XACK behind its
        writes: a Redis killed part-way through must hold a timeline entry
        for every event it has acknowledged, and a restart must finish the
        rest."""
        self.use_aof_redis()
        self.start_on_backlog()
        self.redis.kill()
        self.nudge.kill()  # so that it cannot go on before we look
        self.redis.start()
        last = group_info(self.r)["last-delivered-id"]
        pending = {p["message_id"] for p in
                   self.r.xpending_range(STREAM, GROUP, "-", "+", self.BACKLOG)}
        acked = [fields["note"] for eid, fields in
                 self.r.xrange(STREAM, "-", last) if eid not in pending]
        self.assertGreater(len(acked), 0, "nothing acknowledged before the kill")
        self.assertLess(len(acked), self.BACKLOG, "backlog finished before the kill")
        written = self.recorded_notes()
        self.assertEqual([n for n in acked if n not in written], [],
                         "acknowledged without a timeline entry")
        self.nudge.start()
        wait_for(lambda: all_acked(self.r, self.BACKLOG), 60, what="all acked")
        self.assertEqual(len(self.recorded_notes()), self.BACKLOG, "events lost")
        print("\n  Redis killed with %d of %d events acknowledged, each with its "
              "entry; all recorded after restart" % (len(acked), self.BACKLOG))
        self.stop_clean()

    def test_redis_outage_reconnects(self):
        self.use_aof_redis()
        add_student(self.r, "1")
        self.nudge.start()
        self.nudge.ctl("emit", "tag", "1", "tag=before")
        wait_for(lambda: len(timeline(self.r, "1")) == 1, what="first entry")
        wait_for(lambda: http_get(self.nudge.http_port, "/healthz")[0] == 200,
                 what="healthy")
        self.redis.kill()
        time.sleep(1)
        status, body = http_get(self.nudge.http_port, "/healthz")
        self.assertEqual(status, 503)
        self.assertIn("Redis", body)
        time.sleep(4)  # down for 5 s in all
        self.assertIsNotNone(self.nudge.proc)
        self.assertIsNone(self.nudge.proc.poll(), "nudged died with Redis")
        self.redis.start()
        self.nudge.ctl("emit", "tag", "1", "tag=after")
        try:
            wait_for(lambda: len(timeline(self.r, "1")) == 2, 30,
                     what="entry after restart")
        except AssertionError:
            raise AssertionError("no entry after restart; nudged's log:\n" +
                                 self.nudge.log_text()[-3000:])
        wait_for(lambda: http_get(self.nudge.http_port, "/healthz")[0] == 200,
                 what="healthy again")
        # every reconnection of every connection (consumer, writer, queue
        # workers, waker, retention): counted as often as it is logged
        def counted_as_logged():
            logged = self.nudge.log_text().count("reconnected to Redis at")
            _, text = http_get(self.nudge.http_port, "/metrics")
            return logged >= 3 and metric(
                text, "nudge_redis_reconnects_total") == logged
        wait_for(counted_as_logged, 10,
                 what="every logged reconnection counted")
        self.stop_clean()


class RedisConnectionTest(unittest.TestCase):
    """AUTH with a secret from the environment, a unix socket, a DB."""

    def test_auth_unix_socket_and_db(self):
        server = RedisServer(password="s3cret-pw", unixsocket=True).start()
        nudge = Nudge(server, redis_extra="password = env:NUDGE_IT_REDIS_PW\n"
                      "db = 3\n")
        try:
            with open(nudge.config) as f:
                text = f.read().replace("address = " + server.address,
                                        "address = unix:" + server.socket)
            with open(nudge.config, "w") as f:
                f.write(text)
            env = dict(os.environ, NUDGE_IT_REDIS_PW="s3cret-pw")
            r3 = redis.Redis(unix_socket_path=server.socket, password="s3cret-pw",
                             db=3, decode_responses=True)
            add_student(r3, "8")
            nudge.ctl("emit", "tag", "8", "tag=x", env=env)
            nudge.start(env=env)
            wait_for(lambda: len(timeline(r3, "8")) == 1, what="entry in db 3")
            self.assertEqual(server.client().dbsize(), 0, "wrote to db 0")
            self.assertEqual(nudge.stop(), 0)
            # a wrong password: refused, retried, never printed
            env["NUDGE_IT_REDIS_PW"] = "wrong-pw"
            nudge.start(env=env)
            wait_for(lambda: "AUTH failed" in nudge.log_text(), what="AUTH failure")
            self.assertEqual(nudge.stop(), 0)
            self.assertNotIn("wrong-pw", nudge.log_text())
            self.assertNotIn("s3cret-pw", nudge.log_text())
            nudge.check_clean_log(self)
        finally:
            nudge.cleanup()
            server.stop()


class DaemonTest(NudgeTestCase, unittest.TestCase):
    def test_bad_config_exits_2_with_place(self):
        self.nudge.write("bad.conf", "[redis]\naddress = 127.0.0.1:1\n"
                         "[daemon]\nbatch = lots\n")
        res = subprocess.run([self.nudge_bin(), "-f", "-c",
                              self.nudge.path("bad.conf")],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(res.returncode, 2)
        self.assertIn("bad.conf:4: batch: invalid number \"lots\"", res.stderr)
        res = subprocess.run([self.nudge_bin(), "-f", "-c",
                              self.nudge.path("missing.conf")],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(res.returncode, 2)
        self.assertIn("missing.conf: cannot read the config", res.stderr)

    def nudge_bin(self):
        return NUDGED

    def test_sighup_reload_and_pidfile(self):
        pidfile = self.nudge.path("nudged.pid")
        self.nudge.start("-p", pidfile)
        wait_for(lambda: os.path.exists(pidfile), what="pidfile")
        with open(pidfile) as f:
            self.assertEqual(int(f.read()), self.nudge.proc.pid)
        # a broken reload keeps the old config running
        with open(self.nudge.config, "a") as f:
            f.write("\n[daemon]\nnonsense = 1\n")
        self.nudge.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in self.nudge.log_text(),
                 what="reload refused")
        self.assertIn('unknown key "nonsense"', self.nudge.log_text())
        add_student(self.r, "5")
        self.r.xadd(STREAM, {"type": "tag", "student": "5",
                             "tag": "still-running"})
        wait_for(lambda: len(timeline(self.r, "5")) == 1, what="still working")
        self.assertEqual(self.nudge.stop(), 0)
        self.assertFalse(os.path.exists(pidfile))
        self.nudge.check_clean_log(self)

    def test_junk_rules_do_not_flood(self):
        """1 MB of junk in a rules file: `nudgectl check` shows the first
        20 errors and "and N more"; the daemon, seeing the file change,
        refuses the reload in one log line and counts it."""
        junk = ("rule {{ @@ ]] wait forever ;; }\n" * 40000)[:1 << 20]
        self.nudge.write("rules/ok.rules", "stages lead\n")
        self.nudge.start()
        wait_for(lambda: "nudged started" in self.nudge.log_text(),
                 what="nudged to start")
        self.nudge.write("rules/junk.rules", junk)
        res = self.nudge.ctl("check", check=False)
        self.assertEqual(res.returncode, 1)
        lines = res.stderr.splitlines()
        self.assertLess(len(lines), 30, lines[:40])
        self.assertRegex(lines[-2] + lines[-1],
                         r"junk\.rules: and \d+ more errors or warnings")
        # parsing 1 MB takes a while under ASan on a loaded machine
        wait_for(lambda: "reload refused" in self.nudge.log_text(), 60,
                 what="the refused reload")
        time.sleep(0.5)
        log = self.nudge.log_text()
        self.assertLess(len(log), 20000)
        self.assertRegex(log, r"rules reload refused, keeping the running "
                              r"rules: \d{3,} errors, the first: .*junk")
        status, text = http_get(self.nudge.http_port, "/metrics")
        self.assertGreaterEqual(
            metric(text, 'nudge_reloads_refused_total{what="rules"}'), 1)
        self.assertEqual(self.nudge.stop(), 0)
        self.nudge.check_clean_log(self)

    def test_metrics_and_health(self):
        self.nudge.start()
        wait_for(lambda: http_get(self.nudge.http_port, "/healthz")[0] == 200,
                 what="healthy")
        status, text = http_get(self.nudge.http_port, "/metrics")
        self.assertEqual(status, 200)
        for name in ("nudge_events_total", "nudge_events_rejected_total",
                     "nudge_redis_reconnects_total",
                     "nudge_timeline_writes_total"):
            self.assertIn("# TYPE %s counter" % name, text)
        for line in text.splitlines():
            if line and not line.startswith("#"):
                self.assertRegex(line, r'^[a-z_]+(\{[^}]*\})? -?[0-9.e+]+$')
        self.assertEqual(http_get(self.nudge.http_port, "/nope")[0], 404)
        self.assertEqual(self.nudge.stop(), 0)
        self.nudge.check_clean_log(self)


if __name__ == "__main__":
    unittest.main()
