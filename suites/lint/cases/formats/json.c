/* Findings as JSON. */
#include <clockwork/core.h>

cw_promise *make(cw_loop *loop);
static cw_result quick(void *arg) { return cw_ok(arg); }

void start(cw_loop *loop) {
  make(loop);
  cw_detach(cw_spawn(loop, quick, "a \"quoted\"\targ"));
}
