#!/usr/bin/python3
"""Loads a realistic cohort into a Redis for the demo: students (Chinese and
international names, provinces, scores, subjects, tags, stages), recruiters
with supervisors, and teams. Deterministic (seeded), so every demo shows the
same people. Usage: demo_cohort.py PORT [STUDENTS]"""
import random
import sys
import time

import redis

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军",
         "杰", "娟", "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "子涵",
         "欣怡", "梓萱", "浩宇", "宇轩", "雨桐", "一诺", "思远", "佳怡", "俊杰",
         "晨曦", "博文", "诗涵", "嘉懿", "天佑", "若汐", "沐辰", "可馨"]
INTERNATIONAL = ["Aigerim Nurlanovna", "Maria Silva", "Tenzin Dorje",
                 "Nguyen Van An", "Dilnoza Karimova", "Ahmed Hassan",
                 "Sofia Ivanova", "Kim Min-jun", "Amara Okafor", "Lucas Martin",
                 "Aruzhan Bekova", "Ravi Sharma", "Emma Johansson",
                 "Pasang Lhamo", "Gulnara Abdyldaeva"]
PROVINCES = ["beijing", "shanghai", "guangdong", "jiangsu", "zhejiang",
             "sichuan", "hubei", "hunan", "henan", "shandong", "fujian",
             "yunnan", "gansu", "xinjiang", "xizang", "qinghai", "ningxia",
             "heilongjiang", "guangxi", "hainan"]
STAGES = [("lead", 30), ("contacted", 20), ("consulting", 20), ("applied", 10),
          ("admitted", 10), ("enrolled", 5), ("lost", 5)]
MAJORS = ["computer science", "mechanical engineering", "finance",
          "chinese literature", "medicine", "law", "architecture", "physics"]
STAFF = [
    ("d1", "周主任", None, "leadership"),
    ("m1", "陈经理", "d1", "science_elite"),
    ("m2", "林经理", "d1", "general"),
    ("s1", "王老师", "m1", "science_elite"),
    ("s2", "李老师", "m1", "science_elite"),
    ("s3", "赵老师", "m1", "science_elite"),
    ("s4", "刘老师", "m2", "general"),
    ("s5", "黄老师", "m2", "general"),
    ("s6", "Anna Lee", "m2", "general"),
]


def weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.uniform(0, total)
    for value, w in pairs:
        x -= w
        if x <= 0:
            return value
    return pairs[-1][0]


def student(rng, i, now):
    if rng.random() < 0.08:
        name = rng.choice(INTERNATIONAL)
        lang = "en"
    else:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        lang = "zh"
    province = rng.choice(PROVINCES)
    stage = weighted(rng, STAGES)
    s = {
        "name": name, "lang": lang, "province": province,
        "phone": "+861%d%09d" % (rng.choice([3, 5, 7, 8, 9]), rng.randrange(10**9)),
        "email": "student%04d@mail.example.cn" % i,
        "stage": stage, "stage_at": str(now - rng.randrange(30 * 86400)),
        "score": str(rng.randrange(450, 700)),
        "subject": rng.choice(["science", "science", "arts"]),
        "major_intent": rng.choice(MAJORS),
        "tz": "Asia/Urumqi" if province == "xinjiang" else "Asia/Shanghai",
    }
    if rng.random() < 0.3:
        s["wecom_external_userid"] = "wmEXT%06d" % i
    if stage != "lead" and rng.random() < 0.8:
        s["owner"] = rng.choice([x[0] for x in STAFF if x[0].startswith("s")])
    tags = {"region:" + province}
    tags.add("intent:high" if rng.random() < 0.4 else "intent:low")
    if rng.random() < 0.15:
        tags.add("trial_booked")
    if stage in ("admitted", "enrolled") and rng.random() < 0.5:
        tags.add("fee_paid")
    return s, tags


def main():
    port = int(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    rng = random.Random(2026)
    now = int(time.time())
    pipe = r.pipeline(transaction=False)
    for sid, name, sup, team in STAFF:
        staff = {"name": name, "team": team,
                 "email": "%s@staff.example.edu" % sid,
                 "phone": "+86139%08d" % rng.randrange(10**8),
                 "wecom_userid": "staff_" + sid}
        if sup:
            staff["supervisor"] = sup
        pipe.hset("slm:staff:" + sid, mapping=staff)
        pipe.sadd("slm:team:" + team, sid)
    for i in range(1, count + 1):
        s, tags = student(rng, i, now)
        key = "slm:student:{%d}" % i
        pipe.hset(key, mapping=s)
        pipe.sadd(key + ":tags", *tags)
        if rng.random() < 0.03:
            pipe.sadd(key + ":optout", "sms")
    pipe.execute()
    print("loaded %d students, %d staff, 3 teams" % (count, len(STAFF)))


if __name__ == "__main__":
    main()
