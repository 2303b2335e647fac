'use strict';
// tasks_bench useless-async, first half: n plain calls of a function that
// returns its argument (the sum keeps the calls from being optimised away).
const { bench } = require('./common');

function plain(i) { return i; }

bench(1e6, (n, done) => {
  let calls = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) { sum += plain(i); calls++; }
  done(calls, { sum });
});
