/* An error after the shared directives is reported as when parsed alone. */
#include <clockwork/concurrency.h>
#ifndef GRACE
#define GRACE 5
#endif
#define NAP(loop) cw_sleep(loop, GRACE)
#include "local.h" // cwlint-ignore: floating-task (on the line after)

void broken(struct account *a) {
  a->balance = GRACE;
}
