// rules_jre.js - the peer of bench/rules_eval.c: the same five conditions
// (bench/rules/bench.rules, the DESIGN.md examples) in json-rules-engine,
// over the same students file, on one core for about a second after one
// untimed warm-up pass.
//   node bench/rules_jre.js STUDENTS.jsonl
// json-rules-engine comes from npm into bench/.npm/jre (bench_rules.sh).
//
// Leaves are counted as evaluated, as for nudge: json-rules-engine runs
// the conditions of an `all` or `any` of one priority together
// (Promise.all) and stops only between priority groups; here every fact
// has the default priority, so it evaluates every leaf (JRE_SHORT=1 gives
// each condition its own priority instead). The warm-up pass
// counts them from its own results (each rule result carries a copy of
// the conditions with `result` set on those it evaluated).
'use strict';
const fs = require('fs');
const path = require('path');
const { Engine } = require(path.join(__dirname, '.npm/jre/node_modules/json-rules-engine'));

const students = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map(JSON.parse);

// A missing or non-numeric attribute makes a comparison false, as in nudge.
function num(v) { return typeof v === 'string' && /^[-+]?(\d|\.\d)/.test(v) && isFinite(Number(v)) ? Number(v) : NaN; }

function makeEngine() {
  const e = new Engine([], { allowUndefinedFacts: true });
  e.addOperator('numGte', (a, b) => num(a) >= b);
  e.addOperator('hasTag', (tags, t) => Array.isArray(tags) && tags.includes(t));
  e.addOperator('lacksTag', (tags, t) => !(Array.isArray(tags) && tags.includes(t)));
  e.addOperator('anyTagMatches', (tags, re) => Array.isArray(tags) && tags.some((t) => re.test(t)));
  e.addOperator('absent', (v) => v === undefined || v === '');
  const region = /^region:(xinjiang|xizang|qinghai)$/;
  // JRE_SHORT=1: each condition of an `all` in a priority of its own, in
  // order, so that json-rules-engine stops at the first false one, as
  // nudge does (its own short-circuit works between priority groups).
  const short = process.env.JRE_SHORT === '1';
  const rule = (name, all) => e.addRule({
    name,
    conditions: { all: short ? all.map((c, i) => ({ ...c, priority: all.length - i })) : all },
    event: { type: name },
  });
  rule('trial_class_invite', [
    { fact: 'score', operator: 'numGte', value: 600 },
    { fact: 'tags', operator: 'hasTag', value: 'intent:high' },
    { fact: 'tags', operator: 'lacksTag', value: 'trial_booked' }]);
  rule('remote_weekly_vlog', [
    { fact: 'tags', operator: 'anyTagMatches', value: region },
    { fact: 'stage', operator: 'in', value: ['lead', 'contacted', 'consulting'] }]);
  rule('admitted_unpaid', [
    { fact: 'tags', operator: 'hasTag', value: 'fee_paid' }]);
  rule('assign_science_leads', [
    { fact: 'subject', operator: 'equal', value: 'science' },
    { fact: 'score', operator: 'numGte', value: 620 },
    { fact: 'owner', operator: 'absent', value: null }]);
  rule('trial_class_reminder', [
    { fact: 'stage', operator: 'equal', value: 'consulting' },
    { fact: 'tags', operator: 'lacksTag', value: 'trial_booked' }]);
  return e;
}

// The leaf conditions of a rule result's condition tree that were evaluated.
function evaluatedLeaves(c) {
  if (c.all) return c.all.reduce((n, x) => n + evaluatedLeaves(x), 0);
  if (c.any) return c.any.reduce((n, x) => n + evaluatedLeaves(x), 0);
  if (c.not) return evaluatedLeaves(c.not);
  return typeof c.result === 'boolean' ? 1 : 0;
}

async function main() {
  const engine = makeEngine();
  const matched = {};
  let passes = 0, n = 0, evaluated = 0;
  // A warm-up pass, not timed (the JIT compiles the engine's hot paths,
  // as it would in a long-running service); it also counts the matches
  // and the leaves evaluated.
  for (const s of students) {
    const { events, results, failureResults } = await engine.run(s);
    for (const ev of events) matched[ev.type] = (matched[ev.type] || 0) + 1;
    for (const r of results.concat(failureResults)) evaluated += evaluatedLeaves(r.conditions);
  }
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    for (const s of students) {
      await engine.run(s);
      n++;
    }
    passes++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  } while (elapsed < 1);
  console.log(`students ${students.length} passes ${passes} seconds ${elapsed.toFixed(3)}`);
  console.log(`students_per_s ${(n / elapsed).toFixed(0)}`);
  console.log(`rule_evals_per_s ${(n * 5 / elapsed).toFixed(0)}`);
  console.log('leaf_conditions 11');
  console.log(`leaves_evaluated_per_student ${(evaluated / students.length).toFixed(2)}`);
  console.log(`leaves_evaluated_per_s ${(evaluated * passes / elapsed).toFixed(0)}`);
  for (const name of Object.keys(matched).sort()) console.log(`matched ${name} ${matched[name]}`);
}
main();
