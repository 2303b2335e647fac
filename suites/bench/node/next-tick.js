'use strict';
// Figure 3: n nextTicks, each scheduling the next.
const { bench } = require('./common');

bench(1e6, (n, done) => {
  let calls = 0;
  const tick = () => { if (++calls < n) process.nextTick(tick); };
  process.nextTick(tick);
  setImmediate(() => done(calls));
});
