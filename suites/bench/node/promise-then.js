'use strict';
// Figure 1: n resolved promises, each with a then; timed until drained.
const { bench } = require('./common');

bench(1e6, (n, done) => {
  let calls = 0;
  const f = (v) => { calls++; return v + 1; };
  for (let i = 0; i < n; i++) Promise.resolve(i).then(f);
  setImmediate(() => done(calls));
});
