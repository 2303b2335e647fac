/* One more header after the shared ones: read on top of them. */
#include <clockwork/concurrency.h>
#ifndef GRACE
#define GRACE 5
#endif
#define NAP(loop) cw_sleep(loop, GRACE)
#include "local.h" // cwlint-ignore: floating-task (on the line after)
#include <stdio.h>

void printed(cw_loop *loop) {
  printf("%d\n", GRACE);
  cw_sleep(loop, 2);
}
