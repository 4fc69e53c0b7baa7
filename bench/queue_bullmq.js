// queue_bullmq.js - the BullMQ side of bench/bench_queue.sh: the same
// schedule / drain / firing-lag runs as bench/queue_bench.c, against the
// same throwaway redis-server. BullMQ is installed by the script with npm
// into bench/.npm/bullmq (git-ignored).
//
//   node bench/queue_bullmq.js PORT schedule N DELAY_MS
//   node bench/queue_bullmq.js PORT drain N CONCURRENCY [WORKERS]
//   node bench/queue_bullmq.js PORT lagworker N CONCURRENCY   (start first)
//   node bench/queue_bullmq.js PORT produce RATE SECONDS
//
// Each prints one line of key=value figures, like queue_bench. WORKERS
// (1) Worker instances share the process, each with CONCURRENCY; lock
// renewal and the stalled-job check stay on: they are BullMQ's crash
// recovery, as leases are nudge's.
'use strict';
const path = require('path');
const { Queue, Worker } = require(
  path.join(__dirname, '.npm', 'bullmq', 'node_modules', 'bullmq'));

const [, , port, mode, a, b, c] = process.argv;
const connection = { host: '127.0.0.1', port: Number(port),
                     maxRetriesPerRequest: null };
const NAME = 'bench';

function seconds(start) {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function wallMs() {
  return performance.timeOrigin + performance.now();
}

// Like queue_bench: ids bench-I (BullMQ's jobId is its idempotency key),
// a rule engine's payload, removed when completed.
async function schedule(n, delay) {
  const q = new Queue(NAME, { connection });
  const start = process.hrtime.bigint();
  for (let from = 0; from < n; from += 1000) {
    const jobs = [];
    for (let i = from; i < Math.min(n, from + 1000); i++) {
      jobs.push({ name: 'step',
                  data: { student: String(100000 + i),
                          rule: 'trial_class_invite', step: 2 },
                  opts: { delay, jobId: 'bench-' + i,
                          removeOnComplete: true } });
    }
    await q.addBulk(jobs);
  }
  const t = seconds(start);
  console.log(`scheduled=${n} seconds=${t.toFixed(3)} rate=${(n / t).toFixed(0)}`);
  await q.close();
}

function worker(concurrency, onJob) {
  return new Worker(NAME, async (job) => onJob(job),
                    { connection, concurrency });
}

async function drain(n, concurrency, workers) {
  let done = 0;
  let finish;
  const finished = new Promise((resolve) => { finish = resolve; });
  const start = process.hrtime.bigint();
  const ws = [];
  for (let i = 0; i < workers; i++) {
    const w = worker(concurrency, () => {});
    w.on('completed', () => { if (++done === n) finish(); });
    ws.push(w);
  }
  await finished;
  const t = seconds(start);
  const rss = Math.round(process.memoryUsage().rss / 1024);
  console.log(`drained=${n} seconds=${t.toFixed(3)} rate=${(n / t).toFixed(0)} rss_kib=${rss}`);
  await Promise.all(ws.map((w) => w.close()));
}

async function lagWorker(n, concurrency) {
  const lags = [];
  let finish;
  const finished = new Promise((resolve) => { finish = resolve; });
  const w = worker(concurrency, (job) => {
    lags.push(wallMs() - job.data.due);
    if (lags.length === n) finish();
  });
  await w.waitUntilReady();
  console.error('ready');
  await Promise.race([finished,
                      new Promise((r) => setTimeout(r, n / 2000 * 1000 + 30000))]);
  await w.close();
  lags.sort((x, y) => x - y);
  const at = (p) => lags[Math.min(lags.length - 1, Math.floor(lags.length * p))];
  console.log(`jobs=${lags.length} of=${n} p50_ms=${at(0.5).toFixed(2)} ` +
              `p99_ms=${at(0.99).toFixed(2)} max_ms=${lags[lags.length - 1].toFixed(2)}`);
}

// Every 10 ms the jobs of the next 10 ms, each due 1 s later, as
// queue_bench's producer does.
async function produce(rate, secs) {
  const q = new Queue(NAME, { connection });
  const perTick = rate / 100;
  const start = wallMs();
  for (let k = 0; k < secs * 100; k++) {
    const jobs = [];
    for (let i = 0; i < perTick; i++) {
      const due = start + 1000 + k * 10 + 10 * i / perTick;
      jobs.push({ name: 'lag', data: { due },
                  opts: { delay: Math.max(0, Math.round(due - wallMs())),
                          jobId: 'lag-' + (k * perTick + i),
                          removeOnComplete: true } });
    }
    await q.addBulk(jobs);
    const wait = start + (k + 1) * 10 - wallMs();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await q.close();
}

const runs = {
  schedule: () => schedule(Number(a), Number(b)),
  drain: () => drain(Number(a), Number(b), Number(c || 1)),
  lagworker: () => lagWorker(Number(a), Number(b)),
  produce: () => produce(Number(a), Number(b)),
};

if (!runs[mode]) {
  console.error('usage: queue_bullmq.js PORT schedule|drain|lagworker|produce A B');
  process.exit(2);
}
runs[mode]().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
