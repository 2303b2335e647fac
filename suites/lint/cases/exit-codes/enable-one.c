/* --disable=all then --enable of one rule: only that rule reports. */
#include <clockwork/core.h>
#include <unistd.h>
static cw_result quick(void *arg) {
  sleep(1);
  return cw_ok(arg);
}
void start(cw_loop *loop) {
  cw_spawn(loop, quick, NULL);
}
