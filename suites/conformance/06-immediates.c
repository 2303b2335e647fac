/* Twin of node/06-immediates.js: immediates queued during the check phase
 * run on the next loop turn; queues drain between immediates. */
#include "twin.h"

/* () => { console.log('i1'); setImmediate(() => console.log('i1-inner')); process.nextTick(() => console.log('i1-tick')) } */
static void i1(void *arg) {
  (void)arg;
  say("i1");
  cw_set_immediate(loop, say, "i1-inner");
  cw_next_tick(loop, say, "i1-tick");
}

/* () => { console.log('i2'); Promise.resolve().then(() => console.log('i2-then')) } */
static void i2(void *arg) {
  (void)arg;
  say("i2");
  cw_detach(cw_then(cw_resolved(loop, NULL), then_say, NULL, "i2-then"));
}

/* () => { console.log('timeout100'); setImmediate(() => console.log('i-from-timeout')) } */
static void timeout100(void *arg) {
  (void)arg;
  say("timeout100");
  cw_set_immediate(loop, say, "i-from-timeout");
}

/* setImmediate(i1); setImmediate(i2); setTimeout(timeout100, 100) */
static void script(void *arg) {
  (void)arg;
  cw_set_immediate(loop, i1, NULL);
  cw_set_immediate(loop, i2, NULL);
  cw_set_timeout(loop, 100, timeout100, NULL);
}

int main(void) { return twin_main(script); }
