/* Twin of node/10-timer-promise.js: promises resolved from timers; await
 * inside a loop against Promise.all (ordering only). Every sleep here is
 * called without v, so it fulfils with undefined: NULL. */
#include "twin.h"

#include <stdint.h>

static const uint64_t delays[] = {30, 10, 20};
static const char *const seq_lines[] = {"seq 30", "seq 10", "seq 20"};
static const char *const par_lines[] = {"par 30", "par 10", "par 20"};
enum { DELAYS = sizeof delays / sizeof delays[0] };

/* () => r(v) */
static void fulfil(void *p) { cw_resolve(p, NULL); }

/* function sleep(ms, v) { return new Promise(r => setTimeout(() => r(v), ms)) } */
static cw_promise *sleep_ms(uint64_t ms) {
  cw_promise *p = cw_promise_new(loop);
  cw_set_timeout(loop, ms, fulfil, cw_ref(p));
  return p;
}

/* async function seq() { for (const ms of [30, 10, 20]) { await sleep(ms); console.log('seq ' + ms) } } */
static cw_result seq(void *arg) {
  (void)arg;
  for (int i = 0; i < DELAYS; i++) {
    cw_await(sleep_ms(delays[i]));
    say((void *)seq_lines[i]);
  }
  return cw_ok(NULL);
}

/* async function par() { await Promise.all([30, 10, 20].map(ms => sleep(ms).then(() => console.log('par ' + ms))));
 *   console.log('par done') } */
static cw_result par(void *arg) {
  (void)arg;
  cw_promise *sleeps[DELAYS];
  for (int i = 0; i < DELAYS; i++) sleeps[i] = cw_then(sleep_ms(delays[i]), then_say, NULL, (void *)par_lines[i]);
  cw_await(cw_all(loop, sleeps, DELAYS, NULL));
  say("par done");
  return cw_ok(NULL);
}

/* seq(); par() */
static void script(void *arg) {
  (void)arg;
  cw_detach(cw_spawn(loop, seq, NULL));
  cw_detach(cw_spawn(loop, par, NULL));
}

int main(void) { return twin_main(script); }
