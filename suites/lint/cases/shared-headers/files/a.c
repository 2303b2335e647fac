/* a.c, b.c, c.c and d.c begin with the same directives: cwlint parses
 * them once for the four. Each file must read as it does parsed alone. */
#include <clockwork/concurrency.h>
#ifndef GRACE
#define GRACE 5
#endif
#define NAP(loop) cw_sleep(loop, GRACE)
#include "local.h" // cwlint-ignore: floating-task (on the line after)
static void first(cw_loop *loop) { NAP(loop); }

void dropped(cw_loop *loop, struct account *a) {
  first(loop);
  a->id = GRACE;
  NAP(loop);
}
