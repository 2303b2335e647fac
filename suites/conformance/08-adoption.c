/* Twin of node/08-adoption.js: resolving a promise with another promise
 * costs two extra jobs (the thenable job and the then), whether through
 * resolve(), an async function returning it (a task returning cw_follow) or
 * a then handler returning it. */
#include "twin.h"

static cw_promise *inner;

/* async function h() { return inner } */
static cw_result h(void *arg) {
  (void)arg;
  return cw_follow(cw_ref(inner));
}

/* () => inner: the last use of inner, which passes the reference itself */
static cw_result return_inner(void *arg, cw_result in) {
  (void)arg, (void)in;
  return cw_follow(inner);
}

/* const inner = Promise.resolve('x')
 * const outer = new Promise(r => r(inner))
 * outer.then(() => console.log('outer'))
 * Promise.resolve().then(() => console.log('j1')).then(() => console.log('j2')).then(() => console.log('j3'))
 *   .then(() => console.log('j4'))
 * h().then(() => console.log('async-return-promise'))
 * Promise.resolve().then(() => inner).then(() => console.log('then-returns-promise')) */
static void script(void *arg) {
  (void)arg;
  inner = cw_resolved(loop, "x");
  cw_promise *outer = cw_promise_new(loop);
  cw_resolve_with(cw_ref(outer), cw_ref(inner));
  cw_detach(cw_then(outer, then_say, NULL, "outer"));
  say_in_chain("j1", "j2", "j3", "j4", NULL);
  cw_detach(cw_then(cw_spawn(loop, h, NULL), then_say, NULL, "async-return-promise"));
  cw_promise *p = cw_resolved(loop, NULL);
  p = cw_then(p, return_inner, NULL, NULL);
  p = cw_then(p, then_say, NULL, "then-returns-promise");
  cw_detach(p);
}

int main(void) { return twin_main(script); }
