/* cwlint-ignore comments on the line and on the line before. */
#include <clockwork/core.h>
#include <unistd.h>

cw_promise *make(cw_loop *loop);

static cw_result quick(void *arg) { // cwlint-ignore: useless-async
  sleep(1); // cwlint-ignore: blocking-call
  return cw_ok(arg);
}

void start(cw_loop *loop) {
  // cwlint-ignore: floating-task
  make(loop);
  make(loop); // cwlint-ignore: useless-async, blocking-call
  // cwlint-ignore: blocking-call, floating-task
  cw_detach(cw_spawn(loop, quick, loop)), make(loop);
  // cwlint-ignore: floating-task

  make(loop); /* two lines below the comment: reported */
}
