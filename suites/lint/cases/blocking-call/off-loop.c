/* Blocking calls outside the loop's callbacks, and non-blocking forms in
 * them: nothing to report. */
#include <clockwork/io.h>
#include <stdio.h>
#include <unistd.h>

static void *work(void *arg) {
  sleep(1); /* on the thread pool */
  return arg;
}

static void after_open(uv_fs_t *req) {
  uv_fs_req_cleanup(req);
}

static cw_result fine_task(void *arg) {
  cw_loop *loop = arg;
  static uv_fs_t req;
  uv_fs_open(cw_loop_uv(loop), &req, "data", 0, 0, after_open);
  printf("logging is not flagged\n");
  cw_result r = cw_await(cw_work(loop, work, NULL));
  return r;
}

void setup(void) {
  sleep(1); /* not run by the loop */
}

void start(cw_loop *loop) {
  cw_detach(cw_spawn(loop, fine_task, loop));
}
