/* Runs the JavaScript twin of a benchmark with Node and reads back what it
 * printed: one "key value" line per figure (see node/common.js). */
#ifndef CW_BENCH_RUNNER_H
#define CW_BENCH_RUNNER_H

typedef struct node_figures {
  char version[64];    /* process.version */
  double ns;           /* the timed run */
  long rss_first_kib;  /* memory figure only: peak RSS after the first batch */
  long rss_end_kib;    /* and at the end */
} node_figures;

/* Runs `node script`; 0 with out filled, or -1 after printing why. */
int node_run(const char *node, const char *script, node_figures *out);

#endif
