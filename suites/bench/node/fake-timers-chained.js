'use strict';
// harness_bench timers-chained on sinon: n chained timeouts, each callback
// setting the next with a delay of i % 10 + 1 ms, run with clock.runAll().
const { bench, work } = require('./fake-timers-common');

bench(1e6, (n, clock) => {
  const w = work(n, clock);
  const link = (due) => {
    w.fire(due);
    if (w.calls < n) w.setTimeout(w.calls % 10 + 1, link);
  };
  w.setTimeout(1, link);
  clock.runAll();
  return w.result();
});
