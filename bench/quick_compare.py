#!/usr/bin/python3
"""quick_compare.py - compares two runs of `make bench-quick`
(bench/out/quick.jsonl of an older and a newer commit): each figure's
change, and a flag on every rate that got more than 20% worse.

    /usr/bin/python3 bench/quick_compare.py OLD.jsonl NEW.jsonl [PERCENT]

Where a figure has a peer (or limit) measured in the same run, the check
is on its ratio to that peer: on a 2-core machine shared with other work
the absolute rates of two runs minutes apart differ by more than 20%,
while both sides of one run see the same machine. Without a peer the
absolute value is checked. Rates are figures whose unit ends in "/s"
(higher is better); latencies (ms) are listed but not checked, being
too noisy at the quick sizes. A figure from a run whose load average was
1 or more is marked busy. Exit 1 when a rate got worse by more than
PERCENT (20), else 0.
"""
import json
import sys


def load(path):
    figures = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                d = json.loads(line)
                figures[(d["bench"], d["figure"])] = d
    return figures


def change(old, new):
    return (new - old) / old * 100.0 if old else 0.0


def compare(old, new, limit):
    worse = []
    for key in sorted(set(old) | set(new)):
        name = "%s %s" % key
        if key not in new:
            print("%-34s gone" % name)
            continue
        if key not in old:
            print("%-34s new: %s %s" % (name, new[key]["value"], new[key]["unit"]))
            continue
        a, b = old[key], new[key]
        rate = b["unit"].endswith("/s")
        text = "%-34s %s -> %s %s (%+.1f%%)" % (
            name, a["value"], b["value"], b["unit"], change(a["value"], b["value"]))
        if a.get("peer") and a.get("peer") == b.get("peer") and a["ratio"] and b["ratio"]:
            moved = change(a["ratio"], b["ratio"])
            text += "; vs %s %.3f -> %.3f (%+.1f%%)" % (b["peer"], a["ratio"], b["ratio"], moved)
        else:
            moved = change(a["value"], b["value"])
        if not rate:
            text += "  (latency: not checked)"
        elif moved < -limit:
            text += "  WORSE by more than %g%%" % limit
            worse.append(name)
        if a.get("load", 0) >= 1 or b.get("load", 0) >= 1:
            text += "  [load %s, %s: busy]" % (a.get("load"), b.get("load"))
        print(text)
    return worse


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write("usage: quick_compare.py OLD.jsonl NEW.jsonl [PERCENT]\n")
        return 2
    limit = float(argv[3]) if len(argv) == 4 else 20.0
    worse = compare(load(argv[1]), load(argv[2]), limit)
    if worse:
        print("%d figure(s) worse by more than %g%%: %s" % (len(worse), limit, ", ".join(worse)))
        return 1
    print("no rate worse by more than %g%%" % limit)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
