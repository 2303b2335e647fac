/* The cost of one fiber switch: a fiber yields back to main, which resumes
 * it again; each round trip is two switches. */
#include <stdio.h>
#include <time.h>

#include "fiber_internal.h"

enum { ROUNDS = 10 * 1000 * 1000 };

static void yield_forever(void *arg) {
  (void)arg;
  for (;;) cw_fiber_yield();
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(void) {
  cw_fiber_pool pool;
  cw_fiber_pool_init(&pool, 0);
  cw_fiber *f = cw_fiber_new(&pool, yield_forever, NULL);
  double start = now_ns();
  for (int i = 0; i < ROUNDS; i++) cw_fiber_resume(f);
  double elapsed = now_ns() - start;
  printf("fiber switch: %.1f ns (%d round trips)\n", elapsed / (2.0 * ROUNDS), ROUNDS);
  cw_fiber_free(f);
  cw_fiber_pool_destroy(&pool);
  return 0;
}
