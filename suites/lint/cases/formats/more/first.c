#include <clockwork/core.h>
void first(cw_loop *loop) {
  cw_sleep_at(loop, 1, NULL, "x", 1);
}
