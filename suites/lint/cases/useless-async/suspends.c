/* Task functions that suspend or follow a promise, and functions that are
 * no tasks: nothing to report. */
#include <clockwork/concurrency.h>

static cw_result waits(void *arg) {
  cw_loop *loop = arg;
  return cw_await(cw_sleep(loop, 10));
}

static cw_result follows(void *arg) {
  cw_loop *loop = arg;
  return cw_follow(cw_sleep(loop, 10));
}

/* Awaits on the task's stack, in a helper. */
static void pause_a_bit(cw_loop *loop) {
  cw_await(cw_sleep(loop, 1));
}

static cw_result through_helper(void *arg) {
  pause_a_bit(arg);
  return cw_ok(NULL);
}

static cw_result waits_at(void *arg) {
  cw_result r = cw_await_at(cw_sleep(arg, 1), __FILE__, __LINE__);
  return r;
}

/* Has a task's shape but is never spawned. */
cw_result not_a_task(void *arg) {
  return cw_ok(arg);
}

void start(cw_loop *loop) {
  cw_detach(cw_spawn(loop, waits, loop));
  cw_detach(cw_spawn(loop, follows, loop));
  cw_detach(cw_spawn(loop, through_helper, loop));
  cw_detach(cw_spawn(loop, waits_at, loop));
}
