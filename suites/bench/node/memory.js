'use strict';
// Figure 5: n resolved promises with a then, in 100 batches, each batch
// started from an immediate once the previous one drained; reports the
// peak RSS after the first batch and at the end. No warm-up: it would set
// the peak before the first batch.
const { bench, maxRssKib } = require('./common');

const BATCHES = 100;

bench(1e7, (n, done) => {
  const size = n / BATCHES;
  let calls = 0;
  let batch = 0;
  let rssFirst = 0;
  const f = (v) => { calls++; return v + 1; };
  const step = () => {
    if (batch === 1) rssFirst = maxRssKib();
    if (batch === BATCHES) {
      done(calls, { rss_first: rssFirst, rss_end: maxRssKib() });
      return;
    }
    for (let i = batch * size; i < (batch + 1) * size; i++) Promise.resolve(i).then(f);
    batch++;
    setImmediate(step);
  };
  step();
}, { warmUp: false });
