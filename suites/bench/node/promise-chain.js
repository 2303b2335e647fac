'use strict';
// Figure 2: a then chain n long; timed until drained.
const { bench } = require('./common');

bench(1e6, (n, done) => {
  let calls = 0;
  const f = (v) => { calls++; return v + 1; };
  let p = Promise.resolve(0);
  for (let i = 0; i < n; i++) p = p.then(f);
  setImmediate(() => done(calls));
});
