/* Twin of node/07-await.js: await on a value and on a native promise each
 * take one job; returning from an async function resolves its promise.
 * async functions are tasks (cw_spawn); await null is await of cw_resolved. */
#include "twin.h"

#include <stdio.h>

static int one = 1;

/* async function f() { console.log('f1'); await null; console.log('f2'); await Promise.resolve();
 *   console.log('f3'); return 1 } */
static cw_result f(void *arg) {
  (void)arg;
  say("f1");
  cw_await(cw_resolved(loop, NULL));
  say("f2");
  cw_await(cw_resolved(loop, NULL));
  say("f3");
  return cw_ok(&one);
}

/* async function g() { console.log('g1'); const v = await f(); console.log('g2 ' + v) } */
static cw_result g(void *arg) {
  (void)arg;
  say("g1");
  cw_result v = cw_await(cw_spawn(loop, f, NULL));
  char line[32];
  snprintf(line, sizeof line, "g2 %d", *(int *)v.value);
  say(line);
  return cw_ok(NULL);
}

/* g()
 * Promise.resolve().then(() => console.log('p1')).then(() => console.log('p2')).then(() => console.log('p3'))
 *   .then(() => console.log('p4')).then(() => console.log('p5'))
 * console.log('sync end') */
static void script(void *arg) {
  (void)arg;
  cw_detach(cw_spawn(loop, g, NULL));
  say_in_chain("p1", "p2", "p3", "p4", "p5", NULL);
  say("sync end");
}

int main(void) { return twin_main(script); }
