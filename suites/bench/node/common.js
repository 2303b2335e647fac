'use strict';
// Shared by the JS twins of bench.c. work(n, done) schedules n operations
// and calls done(calls, extra) once they have all run; bench() runs it once
// to warm up (unless warmUp is false), then once timed with process.hrtime.bigint(), and prints "key value" lines for
// bench.c: version, ns, and the extra figures the work reported.
function timed(n, work) {
  const t0 = process.hrtime.bigint();
  work(n, (calls, extra = {}) => {
    const ns = process.hrtime.bigint() - t0;
    if (calls !== n) {
      console.error(`${calls} calls, expected ${n}`);
      process.exit(1);
    }
    console.log(`version ${process.version}`);
    console.log(`ns ${ns}`);
    for (const [key, value] of Object.entries(extra)) console.log(`${key} ${value}`);
  });
}

exports.bench = (n, work, { warmUp = true } = {}) => {
  if (warmUp) work(n, () => setImmediate(timed, n, work));
  else timed(n, work);
};

// Peak resident set size of the process so far, in KiB (as ru_maxrss).
exports.maxRssKib = () => process.resourceUsage().maxRSS;
