'use strict';
// The differential test (meson suite 'differential'):
//   node check.js RUN [FIRST [LAST]]
// generates programs FIRST..LAST (default 1..150; FIRST alone: that seed) with gen.js, runs each in
// Node (run.js) and with the core (RUN, the differential-run executable),
// and fails unless both print the same lines and exit 0. DIFF_JOBS sets how
// many seeds run at once (default 4: the programs mostly sleep).
//
// Replay one seed by hand (from suites/differential, build directory B):
//   node gen.js 42 js                  # the program as a Node script
//   node gen.js 42 > p.json && node run.js p.json
//   node gen.js 42 flat > p.flat && B/suites/differential/differential-run p.flat
// or just: node check.js B/suites/differential/differential-run 42
//
// Both sides run on the real clock. Deadlines are 25 ms apart (see gen.js),
// but a machine loaded by other jobs can starve a process for longer, so a
// seed whose outputs differ is run again, alone, twice at most: a difference
// that does not come back is reported as a retry, one that does is a failure.
const { execFile } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { generate, toJs, toFlat } = require('./gen.js');

const ATTEMPTS = 3;
const [runner, firstArg, lastArg] = process.argv.slice(2);
const first = firstArg ? Number(firstArg) : 1;
const last = lastArg ? Number(lastArg) : firstArg ? first : 150;
if (!runner || !Number.isInteger(first) || !Number.isInteger(last)) {
  process.stderr.write('usage: node check.js RUN [FIRST [LAST]]\n');
  process.exit(2);
}
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

async function attempt(seed) {
  const base = path.join(dir, String(seed));
  const [node, core] = await Promise.all([
    exec(process.execPath, [path.join(__dirname, 'run.js'), base + '.json']),
    exec(runner, [base + '.flat']),
  ]);
  return { node, core, same: node.status === 'exit 0' && core.status === 'exit 0' && node.stdout === core.stdout };
}

function sideBySide(a, b) {
  const left = a.split('\n');
  const right = b.split('\n');
  const width = Math.max(12, ...left.map((l) => l.length)) + 2;
  const rows = [`${'node'.padEnd(width)}   clockwork`];
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const l = left[i] ?? '';
    const r = right[i] ?? '';
    rows.push(`${l.padEnd(width)} ${l === r ? ' ' : '|'} ${r}`);
  }
  return rows.join('\n');
}

function report(seed, program, tries) {
  const [t] = tries;
  const stable = (side) => tries.every((x) => x[side].stdout === t[side].stdout);
  return [
    `==== seed ${seed}: outputs differ on ${tries.length} runs ` +
      `(node ${stable('node') ? 'stable' : 'UNSTABLE'}, clockwork ${stable('core') ? 'stable' : 'unstable'})`,
    toJs(program),
    `node: ${t.node.status}${t.node.stderr ? '\n' + t.node.stderr : ''}`,
    `clockwork: ${t.core.status}${t.core.stderr ? '\n' + t.core.stderr : ''}`,
    sideBySide(t.node.stdout, t.core.stdout),
    '',
  ].join('\n');
}

async function check(seed) {
  const program = generate(seed);
  const base = path.join(dir, String(seed));
  fs.writeFileSync(base + '.json', JSON.stringify(program));
  fs.writeFileSync(base + '.flat', toFlat(program));
  return { seed, program, tries: [await attempt(seed)] };
}

async function retry(result) {
  while (!result.tries.some((t) => t.same) && result.tries.length < ATTEMPTS)
    result.tries.push(await attempt(result.seed));
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

  const failures = results.filter((r) => !r.tries.some((t) => t.same));
  const retried = results.filter((r) => r.tries.length > 1 && !failures.includes(r));
  failures.forEach((r) => process.stdout.write(report(r.seed, r.program, r.tries)));
  if (retried.length)
    console.log(`matched only when run again (load): seeds ${retried.map((r) => r.seed).join(' ')}`);
  const seconds = ((Date.now() - start) / 1000).toFixed(1);
  console.log(`${results.length - failures.length}/${results.length} seeds match Node (seeds ${first}..${last}, ${seconds} s)`);
  process.exitCode = failures.length ? 1 : 0;
}

main();
