/* Task functions that never suspend: spawned plainly, through &fn and a
 * cast, or annotated cw_task. */
#include <clockwork/core.h>

static cw_result add_one(void *arg) {
  int *n = arg;
  ++*n;
  return cw_ok(n);
}

static cw_result settle_now(void *arg) {
  return cw_ok(arg);
}

static int cast_target(void *arg) {
  return arg != NULL;
}

cw_result annotated(void *arg) __attribute__((annotate("cw_task")));
cw_result annotated(void *arg) {
  return cw_err(arg ? UV_EINVAL : UV_ENOENT);
}

void start(cw_loop *loop, int *n) {
  cw_detach(cw_spawn(loop, add_one, n));
  cw_detach(cw_spawn(loop, &settle_now, n));
  cw_detach(cw_spawn(loop, (cw_task_fn)cast_target, n));
}
