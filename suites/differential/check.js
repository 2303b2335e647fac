'use strict';
// The differential test (meson suite 'differential'):
//   node check.js [--real RUN] [--virtual RUN] [FIRST [LAST]]
// generates programs FIRST..LAST (default 1..150; FIRST alone: that seed)
// with gen.js, runs each in Node (run.js) and with the core, on the real
// clock (--real: the differential-run executable) or on the harness's
// virtual clock (--virtual: differential-run-virtual), or both, and fails
// unless each runner prints the same lines as Node and all exit 0. DIFF_JOBS
// sets how many seeds run at once (default 4: the programs mostly sleep).
//
// Replay one seed by hand (from suites/differential, build directory B):
//   node gen.js 42 js                  # the program as a Node script
//   node gen.js 42 > p.json && node run.js p.json
//   node gen.js 42 flat > p.flat && B/suites/differential/differential-run p.flat
//                                  # or differential-run-virtual p.flat
// or just: node check.js --virtual B/suites/differential/differential-run-virtual 42
//
// Node and the real-clock runner run on the real clock. Deadlines are 25 ms
// apart (see gen.js), but a machine loaded by other jobs can starve a process
// for longer, so a seed whose outputs differ is run again, alone, twice at
// most: a difference that does not come back is reported as a retry, one that
// does is a failure. The virtual-clock runner does not depend on the load: it
// runs once, and only Node (and the real-clock runner) run again.
const { execFile } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { generate, toJs, toFlat } = require('./gen.js');

const ATTEMPTS = 3;

function parseArgs(args) {
  const runners = [];
  const seeds = [];
  for (let i = 0; i < args.length; i++) {
    const virtual = args[i] === '--virtual';
    if (virtual || args[i] === '--real') {
      const file = args[++i];
      if (!file) return null;
      runners.push({ file, virtual, name: virtual ? 'clockwork on virtual time' : 'clockwork on the real clock' });
    } else {
      seeds.push(Number(args[i]));
    }
  }
  if (!runners.length || seeds.length > 2 || !seeds.every(Number.isInteger)) return null;
  const [first = 1, last = seeds.length ? first : 150] = seeds;
  return { runners, first, last };
}

const parsed = parseArgs(process.argv.slice(2));
if (!parsed) {
  process.stderr.write('usage: node check.js [--real RUN] [--virtual RUN] [FIRST [LAST]]\n');
  process.exit(2);
}
const { runners, first, last } = parsed;
const onRealClock = runners.filter((r) => !r.virtual);
const jobs = Number(process.env.DIFF_JOBS) || 4;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-differential-'));

function exec(file, args) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 20000, maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      const status = error ? (error.killed ? 'killed (timeout)' : `exit ${error.code ?? error.signal}`) : 'exit 0';
      resolve({ status, stdout, stderr });
    });
  });
}

// A result holds every Node run of its seed and, for each runner, its runs:
// one per Node run on the real clock, a single one on virtual time. A runner
// matches when any of its runs prints what any Node run printed: load can
// disturb either side, so the undisturbed runs need not be of one attempt.
const same = (a, b) => a.status === 'exit 0' && b.status === 'exit 0' && a.stdout === b.stdout;
const matches = (result, runner) => result.node.some((node) => result.runs.get(runner).some((run) => same(node, run)));

async function attempt(result, which) {
  const base = path.join(dir, String(result.seed));
  const [node, ...runs] = await Promise.all([
    exec(process.execPath, [path.join(__dirname, 'run.js'), base + '.json']),
    ...which.map((r) => exec(r.file, [base + '.flat'])),
  ]);
  result.node.push(node);
  which.forEach((r, i) => result.runs.get(r).push(runs[i]));
}

function sideBySide(a, b, title) {
  const left = a.split('\n');
  const right = b.split('\n');
  const width = Math.max(12, ...left.map((l) => l.length)) + 2;
  const rows = [`${'node'.padEnd(width)}   ${title}`];
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const l = left[i] ?? '';
    const r = right[i] ?? '';
    rows.push(`${l.padEnd(width)} ${l === r ? ' ' : '|'} ${r}`);
  }
  return rows.join('\n');
}

const status = (name, run) => `${name}: ${run.status}${run.stderr ? '\n' + run.stderr : ''}`;

// The program once, then each runner that never matched Node beside Node's first run.
function report(result, failed) {
  const stable = (runs) => (runs.every((x) => x.stdout === runs[0].stdout) ? 'stable' : 'unstable');
  const [node] = result.node;
  const lines = [`==== seed ${result.seed}: node ${stable(result.node)} on ${result.node.length} runs`,
    toJs(result.program), status('node', node)];
  for (const runner of failed) {
    const runs = result.runs.get(runner);
    lines.push(`---- ${runner.name} differs from node` + (runner.virtual ? '' : ` (${stable(runs)})`),
      status(runner.name, runs[0]), sideBySide(node.stdout, runs[0].stdout, runner.name));
  }
  return lines.join('\n') + '\n\n';
}

async function check(seed) {
  const program = generate(seed);
  const base = path.join(dir, String(seed));
  fs.writeFileSync(base + '.json', JSON.stringify(program));
  fs.writeFileSync(base + '.flat', toFlat(program));
  const result = { seed, program, node: [], runs: new Map(runners.map((r) => [r, []])) };
  await attempt(result, runners);
  return result;
}

async function retry(result) {
  while (runners.some((r) => !matches(result, r)) && result.node.length < ATTEMPTS) await attempt(result, onRealClock);
}

async function main() {
  const start = Date.now();
  const seeds = [];
  for (let s = first; s <= last; s++) seeds.push(s);
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < seeds.length) results.push(await check(seeds[next++]));
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  results.sort((a, b) => a.seed - b.seed);
  for (const r of results) await retry(r);
  fs.rmSync(dir, { recursive: true, force: true });

  let failed = false;
  for (const r of results) {
    const differ = runners.filter((runner) => !matches(r, runner));
    if (differ.length) process.stdout.write(report(r, differ));
    failed ||= differ.length > 0;
  }
  const seconds = ((Date.now() - start) / 1000).toFixed(1);
  for (const runner of runners) {
    const matched = results.filter((r) => matches(r, runner));
    const retried = matched.filter((r) => !same(r.node[0], r.runs.get(runner)[0]));
    if (retried.length)
      console.log(`${runner.name}: matched only when ${runner.virtual ? 'Node ran' : 'run'} again (load): ` +
        `seeds ${retried.map((r) => r.seed).join(' ')}`);
    console.log(`${runner.name}: ${matched.length}/${results.length} seeds match Node (seeds ${first}..${last})`);
  }
  console.log(`${seconds} s`);
  process.exitCode = failed ? 1 : 0;
}

main();
