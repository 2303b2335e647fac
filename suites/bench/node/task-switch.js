'use strict';
// tasks_bench task-switch: n awaits of a plain value in one async function
// (each wraps it in a resolved promise and resumes in one job).
const { bench } = require('./common');

bench(1e6, async (n, done) => {
  let calls = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) { sum += await i; calls++; }
  done(calls, { sum });
});
