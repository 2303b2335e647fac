/* Twin of node/04-io-callback.js: inside an I/O callback (poll phase)
 * immediates run before timers; ticks and jobs first. fs.readFile becomes a
 * plain libuv uv_fs_stat of our own executable, bracketed as a poll-phase
 * macrotask the way the core's I/O ports bracket their completions. */
#include "twin.h"

#include <stdio.h>

/* process.nextTick(() => { console.log('tick2'); Promise.resolve().then(() => console.log('then-in-tick')) }) */
static void tick2(void *arg) {
  (void)arg;
  say("tick2");
  cw_detach(cw_then(cw_resolved(loop, NULL), then_say, NULL, "then-in-tick"));
}

/* .then(() => { console.log('then2'); process.nextTick(() => console.log('tick-in-then')) }) */
static cw_result then2(void *arg, cw_result in) {
  (void)arg, (void)in;
  say("then2");
  cw_next_tick(loop, say, "tick-in-then");
  return cw_ok(NULL);
}

/* The callback of fs.readFile(__filename, () => { ... }), line for line; like
 * the JavaScript it ignores the outcome. */
static void on_stat(uv_fs_t *req) {
  uv_fs_req_cleanup(req);
  cw_macrotask_begin(loop, CW_PHASE_POLL);
  cw_set_timeout(loop, 0, say, "timeout");
  cw_set_immediate(loop, say, "immediate");
  cw_next_tick(loop, say, "tick");
  cw_detach(cw_then(cw_resolved(loop, NULL), then_say, NULL, "then"));
  cw_queue_microtask(loop, say, "micro");
  cw_next_tick(loop, tick2, NULL);
  cw_detach(cw_then(cw_resolved(loop, NULL), then2, NULL, NULL));
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
