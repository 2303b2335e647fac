/* Twin of node/02-interval-chain.js: an interval cleared from a promise chain
 * started in a timeout started by a promise chain started in a timeout. */
#include "twin.h"

static cw_timer *interval;

/* .then(() => { clearInterval(interval) }) */
static cw_result clear_interval(void *arg, cw_result in) {
  (void)arg, (void)in;
  cw_clear(interval);
  return cw_ok(NULL);
}

/* setTimeout(() => {
 *   console.log('setTimeout 2')
 *   Promise.resolve().then(() => { console.log('promise 5') }).then(() => { console.log('promise 6') })
 *     .then(() => { clearInterval(interval) }) }, 0) */
static void timeout2(void *arg) {
  (void)arg;
  say("setTimeout 2");
  cw_promise *p = cw_resolved(loop, NULL);
  p = cw_then(p, then_say, NULL, "promise 5");
  p = cw_then(p, then_say, NULL, "promise 6");
  p = cw_then(p, clear_interval, NULL, NULL);
  cw_detach(p);
}

/* .then(() => { setTimeout(timeout2, 0) }) */
static cw_result start_timeout2(void *arg, cw_result in) {
  (void)arg, (void)in;
  cw_set_timeout(loop, 0, timeout2, NULL);
  return cw_ok(NULL);
}

/* setTimeout(() => {
 *   console.log('setTimeout 1')
 *   Promise.resolve().then(() => { console.log('promise 3') }).then(() => { console.log('promise 4') })
 *     .then(() => { setTimeout(timeout2, 0) }) }, 0) */
static void timeout1(void *arg) {
  (void)arg;
  say("setTimeout 1");
  cw_promise *p = cw_resolved(loop, NULL);
  p = cw_then(p, then_say, NULL, "promise 3");
  p = cw_then(p, then_say, NULL, "promise 4");
  p = cw_then(p, start_timeout2, NULL, NULL);
  cw_detach(p);
}

/* console.log('script start')
 * const interval = setInterval(() => { console.log('setInterval') }, 0)
 * setTimeout(timeout1, 0)
 * Promise.resolve().then(() => { console.log('promise 1') }).then(() => { console.log('promise 2') }) */
static void script(void *arg) {
  (void)arg;
  say("script start");
  interval = cw_set_interval(loop, 0, say, "setInterval");
  cw_set_timeout(loop, 0, timeout1, NULL);
  cw_promise *p = cw_resolved(loop, NULL);
  p = cw_then(p, then_say, NULL, "promise 1");
  p = cw_then(p, then_say, NULL, "promise 2");
  cw_detach(p);
}

int main(void) { return twin_main(script); }
