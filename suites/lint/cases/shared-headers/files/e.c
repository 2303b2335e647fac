/* The same headers in another order: parsed alone. */
#include "local.h"
#include <clockwork/concurrency.h>

void alone(cw_loop *loop) {
  cw_sleep(loop, 3);
}
