/* Operations scripted for the concurrency suites. Each settles after a
 * number of loop turns (immediates: no real time passes and the order is
 * exact), records "+id" when it starts and "-id" or "xid" when it fulfils
 * or rejects, and is counted while in flight. */
#ifndef CW_CONCURRENCY_OPS_H
#define CW_CONCURRENCY_OPS_H

#include <clockwork/concurrency.h>

/* A delay no test waits for: a test that does fails its check of the
 * duration after LONG_MS instead of hanging. */
#define LONG_MS 5000
#define TEXT_OF(x) #x
#define TEXT(x) TEXT_OF(x)

typedef struct script {
  unsigned turns; /* check phases passed before it settles: 0 settles in the first */
  int error;      /* 0: fulfil with value */
  void *value;
} script;

/* Operations started, in flight now, and the most ever in flight at once. */
typedef struct flight {
  size_t started, now, peak;
} flight;
extern flight ops;
void ops_reset(void);

/* Starts an operation that follows s (read now: s may go). */
cw_promise *op_start(cw_loop *loop, const script *s, size_t id);
/* A cw_map_fn over an array of scripts on test_loop: element i follows scripts[i]. */
cw_promise *op_map(void *scripts, size_t i);

/* The loop clock of test_loop, brought up to date (ms). */
uint64_t loop_now(void);

/* A handler that records "label:ok" or "label:UV_EIO" (the error's name)
 * and keeps the result in an observer, as rec_observe does. */
cw_result rec_outcome(void *observer, cw_result in);
/* Attaches rec_outcome to p (consumed) with o. */
void watch(cw_promise *p, void *observer);

#endif
