/* The body of the callback of fs.readFile(__filename, () => { ... }) in
 * node/04-io-callback.js, line for line: shared by its twin on the real
 * loop (04-io-callback.c) and on the fake file system
 * (suites/fakes/04-io-callback-fake.c), which differ only in how the read
 * is made and the callback called. */
#ifndef CW_CONFORMANCE_IO_CALLBACK_BODY_H
#define CW_CONFORMANCE_IO_CALLBACK_BODY_H

#include "twin.h"

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

/* The body; a cw_fn. */
static void io_callback_body(void *arg) {
  (void)arg;
  cw_set_timeout(loop, 0, say, "timeout");
  cw_set_immediate(loop, say, "immediate");
  cw_next_tick(loop, say, "tick");
  cw_detach(cw_then(cw_resolved(loop, NULL), then_say, NULL, "then"));
  cw_queue_microtask(loop, say, "micro");
  cw_next_tick(loop, tick2, NULL);
  cw_detach(cw_then(cw_resolved(loop, NULL), then2, NULL, NULL));
}

#endif
