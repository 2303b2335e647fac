/* __LINE__ means the line of the file it is read in: the shared part
 * stops before it. */
#include <clockwork/concurrency.h>
#ifndef GRACE
#define GRACE 5
#endif
#define NAP(loop) cw_sleep(loop, GRACE)
#include "local.h" // cwlint-ignore: floating-task (on the line after)
#define WHERE __LINE__
#if WHERE != 10
#error read elsewhere
#endif

void placed(cw_loop *loop) {
  cw_sleep(loop, WHERE);
}
