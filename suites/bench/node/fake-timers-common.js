'use strict';
// Shared by the sinon twins of harness_bench.c. Loads @sinonjs/fake-timers
// from $CW_FAKE_TIMERS (installed there by harness_bench). bench(n, work)
// runs work(n, clock) twice, each on a fresh clock faking setTimeout and
// timed with process.hrtime.bigint(): once to warm up, then once for the
// figure; work returns what ran. Prints "key value" lines for
// harness_bench: version, ns_first and ns; exits 1 when the work went wrong.
const FakeTimers = require(process.env.CW_FAKE_TIMERS);
const { version } = require(`${process.env.CW_FAKE_TIMERS}/package.json`);

function run(n, work) {
  const clock = FakeTimers.withGlobal(globalThis).install({ toFake: ['setTimeout'], loopLimit: n + 1 });
  const t0 = process.hrtime.bigint();
  const r = work(n, clock);
  const ns = process.hrtime.bigint() - t0;
  clock.uninstall();
  if (r.calls !== n || r.late !== 0 || r.end !== r.lastDue) {
    console.error(`${r.calls} of ${n} callbacks ran, ${r.late} not at their deadline; ` +
                  `the clock ended at ${r.end} ms, the last deadline is ${r.lastDue} ms`);
    process.exit(1);
  }
  return ns;
}

// A run's state, and the timeout of the harness's set_timeout: fn gets its
// deadline, in ms after the start, and checks it fires then.
exports.work = (n, clock) => {
  const w = { n, calls: 0, late: 0, lastDue: 0, start: clock.now };
  w.fire = (due) => {
    w.calls++;
    if (clock.now - w.start !== due) w.late++;
  };
  w.setTimeout = (delay, fn) => {
    const due = clock.now - w.start + delay;
    if (due > w.lastDue) w.lastDue = due;
    setTimeout(fn, delay, due);
  };
  w.result = () => ({ calls: w.calls, late: w.late, end: clock.now - w.start, lastDue: w.lastDue });
  return w;
};

exports.bench = (n, work) => {
  const first = run(n, work);
  const ns = run(n, work);
  console.log(`version fake-timers@${version}/node-${process.version}`);
  console.log(`ns_first ${first}`);
  console.log(`ns ${ns}`);
};
