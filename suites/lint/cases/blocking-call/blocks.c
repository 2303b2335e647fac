/* Blocking calls in tasks and in callbacks the core or libuv runs. */
#include <clockwork/core.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static cw_result slow_task(void *arg) {
  sleep(1);
  uv_fs_t req;
  uv_fs_open(cw_loop_uv(arg), &req, "data", 0, 0, NULL);
  uv_fs_req_cleanup(&req);
  return cw_await(cw_resolved(arg, NULL));
}

static void on_timer(void *arg) {
  (void)arg;
  usleep(1000);
}

static void on_tick(void *arg) {
  system(arg);
}

static cw_result on_value(void *arg, cw_result in) {
  FILE *f = fopen(arg, "r");
  char buf[16];
  if (f && fread(buf, 1, sizeof buf, f) > 0)
    fclose(f);
  return in;
}

static void on_uv_timer(uv_timer_t *t) {
  (void)t;
  nanosleep(&(struct timespec){0, 1000}, NULL);
}

void start(cw_loop *loop, cw_promise *p, uv_timer_t *t) {
  cw_detach(cw_spawn(loop, slow_task, loop));
  cw_set_timeout(loop, 10, on_timer, NULL);
  cw_next_tick(loop, on_tick, "true");
  cw_detach(cw_then(p, on_value, NULL, "file"));
  uv_timer_start(t, on_uv_timer, 10, 0);
}
