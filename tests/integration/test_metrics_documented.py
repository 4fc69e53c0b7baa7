"""The shipped alert rules (etc/prometheus) and dashboard (etc/grafana)
parse and name only metrics nudge has; and every metric nudge registers (a metric_counter, metric_gauge or
metric_histogram call in its sources) is described in docs/operations.md,
so an operator finds what each series means (issue 13)."""
import glob
import json
import os
import re
import unittest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
FOLDERS = ("core", "rules", "templates", "queues", "channels", "daemon",
           "cli")
REGISTERED = re.compile(r'metric_(?:counter|gauge|histogram)\(\s*"([a-z_]+)"')


SERIES = re.compile(r"\b(nudge_[a-z_]+?)(?:_bucket)?\b")


def registered():
    names = set()
    for folder in FOLDERS:
        for path in glob.glob(os.path.join(ROOT, folder, "*.c")):
            with open(path) as f:
                names.update(REGISTERED.findall(f.read()))
    return names


class MetricsDocumentedTest(unittest.TestCase):
    def assert_known(self, expr, names):
        for name in SERIES.findall(expr):
            self.assertIn(name, names, expr)

    def test_alert_rules(self):
        names = registered()
        with open(os.path.join(ROOT, "etc", "prometheus",
                               "nudge-alerts.yml")) as f:
            doc = yaml.safe_load(f)
        rules = [r for g in doc["groups"] for r in g["rules"]]
        self.assertGreaterEqual(len(rules), 6)
        for r in rules:
            self.assertTrue(r["alert"] and r["expr"], r)
            self.assert_known(r["expr"], names)
        alerting = " ".join(r["expr"] for r in rules)
        for must in ("nudge_events_lag_seconds", "nudge_queue_dead_total",
                     "nudge_redis_reconnects_total",
                     "nudge_channel_failed_total"):
            self.assertIn(must, alerting)

    def test_dashboard(self):
        names = registered()
        with open(os.path.join(ROOT, "etc", "grafana",
                               "nudge-dashboard.json")) as f:
            dash = json.load(f)
        exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
        self.assertGreaterEqual(len(exprs), 8)
        for e in exprs:
            self.assert_known(e, names)

    def test_every_metric_is_in_operations_md(self):
        names = registered()
        self.assertGreater(len(names), 30)
        with open(os.path.join(ROOT, "docs", "operations.md")) as f:
            doc = f.read()
        missing = sorted(n for n in names if "`" + n not in doc)
        self.assertEqual(missing, [], "not in docs/operations.md")


if __name__ == "__main__":
    unittest.main()
