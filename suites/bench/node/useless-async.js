'use strict';
// tasks_bench useless-async: n awaited calls of an async function that never
// awaits, the "useless async" of the talk "5 hours to 5 minutes".
const { bench } = require('./common');

async function never(i) { return i; }

bench(1e6, async (n, done) => {
  let calls = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) { sum += await never(i); calls++; }
  done(calls, { sum });
});
