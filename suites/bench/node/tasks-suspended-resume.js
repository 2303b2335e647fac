'use strict';
// tasks_bench suspended, second half: n async functions suspended at once,
// each awaiting its own promise, are suspended before the clock starts (for
// the warm-up and for the timed run); timed from resolving the promises
// until the last function has resumed.
const { bench } = require('./common');

const N = 1e5;

async function waitFor(gate, batch) {
  await gate;
  if (++batch.resumed === batch.n) batch.done(batch.resumed);
}

function suspend(n) {
  const batch = { n, resumed: 0, done: null, open: [] };
  for (let i = 0; i < n; i++) waitFor(new Promise((resolve) => batch.open.push(resolve)), batch);
  return batch;
}

const batches = [suspend(N), suspend(N)]; // the warm-up's, then the timed run's

bench(N, (n, done) => {
  const batch = batches.shift();
  batch.done = done;
  batch.open.forEach((resolve, i) => resolve(i));
});
