/* Shared by the benchmarks: running the JavaScript twin of a benchmark with
 * Node and reading back what it printed (one "key value" line per figure,
 * see node/common.js), and small measuring helpers. */
#ifndef CW_BENCH_RUNNER_H
#define CW_BENCH_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct node_figures {
  char version[64];    /* process.version */
  double ns;           /* the timed run */
  double ns_first;     /* the warm-up run, where the twin reports it */
  long rss_first_kib;  /* memory figure only: peak RSS after the first batch */
  long rss_end_kib;    /* and at the end */
} node_figures;

/* Runs `node script`; 0 with out filled, or -1 after printing why. */
int node_run(const char *node, const char *script, node_figures *out);

/* What every benchmark needs: a monotonic clock, the peak RSS so far, and
 * the word printed beside a goal. */
uint64_t now_ns(void);
long max_rss_kib(void);
const char *verdict(bool met);

#endif
