/* Twin of node/04-io-callback.js: inside an I/O callback (poll phase)
 * immediates run before timers; ticks and jobs first. fs.readFile becomes a
 * plain libuv uv_fs_stat of our own executable, bracketed as a poll-phase
 * macrotask the way the core's I/O ports bracket their completions. */
#include <stdio.h>

#include "io_callback_body.h"

/* The callback of fs.readFile(__filename, () => { ... }); like the
 * JavaScript it ignores the outcome. */
static void on_stat(uv_fs_t *req) {
  uv_fs_req_cleanup(req);
  cw_macrotask_begin(loop, CW_PHASE_POLL);
  io_callback_body(NULL);
  cw_macrotask_end(loop);
}

/* fs.readFile(__filename, on_stat) */
static void script(void *arg) {
  (void)arg;
  static uv_fs_t stat_req;
  int rc = uv_fs_stat(cw_loop_uv(loop), &stat_req, "/proc/self/exe", on_stat);
  if (rc < 0)
    fprintf(stderr, "uv_fs_stat: %s\n", uv_strerror(rc));
}

int main(void) { return twin_main(script); }
