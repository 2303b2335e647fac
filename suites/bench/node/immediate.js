'use strict';
// Figure 4: n immediates, each scheduling the next.
const { bench } = require('./common');

bench(1e5, (n, done) => {
  let calls = 0;
  const step = () => { if (++calls < n) setImmediate(step); else done(calls); };
  setImmediate(step);
});
