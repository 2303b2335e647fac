/* Twin of node/05-timers-between.js: queues drain between every timer
 * callback (Node >= 11); timers with equal deadlines run in creation order. */
#include "twin.h"

/* () => { console.log('t1'); process.nextTick(() => console.log('t1-tick')); Promise.resolve().then(() => console.log('t1-then')) } */
static void t1(void *arg) {
  (void)arg;
  say("t1");
  cw_next_tick(loop, say, "t1-tick");
  cw_detach(cw_then(cw_resolved(loop, NULL), then_say, NULL, "t1-then"));
}

/* () => { console.log('t2'); Promise.resolve().then(() => console.log('t2-then')) } */
static void t2(void *arg) {
  (void)arg;
  say("t2");
  cw_detach(cw_then(cw_resolved(loop, NULL), then_say, NULL, "t2-then"));
}

/* () => { console.log('t3'); setTimeout(() => console.log('t3-inner'), 0); setImmediate(() => console.log('t3-immediate')) } */
static void t3(void *arg) {
  (void)arg;
  say("t3");
  cw_set_timeout(loop, 0, say, "t3-inner");
  cw_set_immediate(loop, say, "t3-immediate");
}

/* setTimeout(t1, 5); setTimeout(t2, 5); setTimeout(() => console.log('t0'), 1)
 * setTimeout(t3, 5); setTimeout(() => console.log('t60'), 60) */
static void script(void *arg) {
  (void)arg;
  cw_set_timeout(loop, 5, t1, NULL);
  cw_set_timeout(loop, 5, t2, NULL);
  cw_set_timeout(loop, 1, say, "t0");
  cw_set_timeout(loop, 5, t3, NULL);
  cw_set_timeout(loop, 60, say, "t60");
}

int main(void) { return twin_main(script); }
