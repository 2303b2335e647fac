'use strict';
// harness_bench timers-spread on sinon: n timeouts with spread deadlines
// (every delay from 1 to 1000000 ms once, in a fixed shuffled order), then
// clock.runAll().
const { bench, work } = require('./fake-timers-common');

bench(1e6, (n, clock) => {
  const w = work(n, clock);
  for (let i = 0; i < n; i++) w.setTimeout((i * 7919) % 1000000 + 1, w.fire);
  clock.runAll();
  return w.result();
});
