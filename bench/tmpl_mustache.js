// tmpl_mustache.js - the peer of tmpl_render.c: mustache (npm, the
// reference JavaScript implementation) rendering the same SMS and HTML
// templates (bench/tmpl/) with the same data (bench/tmpl_data.json).
// Mustache.render caches the parsed template, as nudge compiles once.
// Escaping per case, as a user would set it: the SMS with
// Mustache.escape = s => s (an SMS is plain text, HTML escaping would
// only corrupt it), the HTML part with mustache's own HTML escaping.
// usage: node tmpl_mustache.js MUSTACHE_DIR TMPL_DIR DATA.json SECONDS RUNS
"use strict";
const fs = require("fs");
const path = require("path");
const [mdir, tdir, dataPath, secsArg, runsArg] = process.argv.slice(2);
const Mustache = require(path.resolve(mdir, "node_modules", "mustache"));
const data = JSON.parse(fs.readFileSync(dataPath, "utf8"));
const secs = Number(secsArg), runs = Number(runsArg);
const sms = fs.readFileSync(path.join(tdir, "bench.sms"), "utf8").trimEnd();
const html = fs.readFileSync(path.join(tdir, "bench.email.html"), "utf8");

function measure(tmpl, seconds) {
  const start = process.hrtime.bigint();
  let n = 0, elapsed = 0, sink = 0;
  do {
    for (let i = 0; i < 1000; i++) sink += Mustache.render(tmpl, data).length;
    n += 1000;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  } while (elapsed < seconds);
  if (sink === 0) throw new Error("nothing rendered");
  return n / elapsed;
}

const htmlEscape = Mustache.escape;

function run(name, tmpl, escape) {
  Mustache.escape = escape;
  measure(tmpl, secs / 4); // warm-up: the JIT and the template cache
  const r = [];
  for (let i = 0; i < runs; i++) r.push(measure(tmpl, secs));
  const sorted = [...r].sort((a, b) => a - b);
  console.log([name, sorted[Math.floor(runs / 2)], ...r].map(
    (x) => (typeof x === "number" ? x.toFixed(0) : x)).join(" "));
}

run("sms", sms, (v) => v);
run("html", html, htmlEscape);
