/* For the probe suites: batches of work.run operations on the harness's
 * fakes, each given a fixed latency by a rule, started the three ways code
 * starts them: all at once, a limited number at a time (cw_map), or one at
 * a time by a task that awaits each inside its loop. */
#ifndef CW_HARNESS_BATCH_H
#define CW_HARNESS_BATCH_H

#include <clockwork/concurrency.h>
#include <clockwork/fakes.h>

typedef struct batch {
  cw_loop *loop;
  size_t n;
  size_t limit; /* cw_map's: 0 for all at once */
  bool serial;  /* an await inside a loop instead of cw_map */
  size_t done;  /* operations fulfilled */
} batch;

/* Every work.run takes ms. */
static inline cw_rule *work_latency(cw_harness *h, double ms) {
  return cw_fake_rule(h, &(cw_rule_spec){.op = "work.run", .latency = {CW_LATENCY_FIXED, ms, 0}});
}

static inline void *batch_work(void *arg) {
  ((batch *)arg)->done++;
  return arg;
}

static inline cw_promise *batch_start(void *arg, size_t i) {
  (void)i;
  batch *b = arg;
  return cw_work(b->loop, batch_work, b);
}

static inline cw_result batch_await_each(void *arg) {
  batch *b = arg;
  for (size_t i = 0; i < b->n; i++) {
    cw_result r = cw_await(batch_start(b, i));
    if (r.state == CW_REJECTED)
      return r;
  }
  return cw_ok(NULL);
}

/* A cw_harness_run main: starts the batch b. */
static inline void batch_run(void *arg) {
  batch *b = arg;
  if (b->serial)
    cw_detach(cw_spawn(b->loop, batch_await_each, b));
  else
    cw_detach(cw_map(b->loop, b->n, batch_start, b, b->limit, NULL));
}

#endif
