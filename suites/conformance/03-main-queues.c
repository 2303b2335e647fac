/* Twin of node/03-main-queues.js: nextTick drains before promise jobs; jobs
 * queued by jobs run in the same drain. */
#include "twin.h"

/* .then(() => { console.log('then1'); process.nextTick(() => console.log('tick-from-then')) }) */
static cw_result then1(void *arg, cw_result in) {
  (void)arg, (void)in;
  say("then1");
  cw_next_tick(loop, say, "tick-from-then");
  return cw_ok(NULL);
}

/* process.nextTick(() => { console.log('tick2'); Promise.resolve().then(() => console.log('then-from-tick'));
 *                          process.nextTick(() => console.log('tick-from-tick')) }) */
static void tick2(void *arg) {
  (void)arg;
  say("tick2");
  cw_detach(cw_then(cw_resolved(loop, NULL), then_say, NULL, "then-from-tick"));
  cw_next_tick(loop, say, "tick-from-tick");
}

/* process.nextTick(() => console.log('tick1'))
 * Promise.resolve().then(then1)
 * queueMicrotask(() => console.log('micro1'))
 * process.nextTick(tick2)
 * Promise.resolve().then(() => console.log('then2')).then(() => console.log('then2b'))
 * console.log('sync') */
static void script(void *arg) {
  (void)arg;
  cw_next_tick(loop, say, "tick1");
  cw_detach(cw_then(cw_resolved(loop, NULL), then1, NULL, NULL));
  cw_queue_microtask(loop, say, "micro1");
  cw_next_tick(loop, tick2, NULL);
  say_in_chain("then2", "then2b", NULL);
  say("sync");
}

int main(void) { return twin_main(script); }
