'use strict';
// tasks_bench suspended, first half: n async functions suspended at once,
// each awaiting its own promise; timed until all are suspended, with the
// peak RSS then. They are resumed afterwards, untimed.
const { bench, maxRssKib } = require('./common');

async function waitFor(gate) { await gate; }

bench(1e5, (n, done) => {
  const open = [];
  for (let i = 0; i < n; i++) waitFor(new Promise((resolve) => open.push(resolve)));
  done(open.length, { rss_end: maxRssKib() });
  open.forEach((resolve, i) => resolve(i));
});
