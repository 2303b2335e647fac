/* The shared directives do not compile: each file is parsed alone and
 * reports the error itself. */
#include "missing.h"
#include <clockwork/concurrency.h>

void x(cw_loop *loop) {
  cw_sleep(loop, 4);
}
