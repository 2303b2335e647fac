/* Only a warning: still exit 1. */
#include <clockwork/core.h>
#include <unistd.h>
static void later(void *arg) {
  (void)arg;
  sleep(1);
}
void start(cw_loop *loop) {
  cw_set_immediate(loop, later, NULL);
}
