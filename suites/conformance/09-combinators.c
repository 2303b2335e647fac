/* Twin of node/09-combinators.js: Promise.all / race / allSettled / any
 * settle timing relative to plain jobs. new Error('x') is UV_EINVAL. */
#include "twin.h"

static int one = 1, two = 2;

/* const a = Promise.resolve(1), b = Promise.resolve(2)
 * Promise.all([a, b]).then(() => console.log('all'))
 * Promise.race([a, b]).then(() => console.log('race'))
 * Promise.allSettled([a, Promise.reject(new Error('x'))]).then(() => console.log('allSettled'))
 * Promise.any([Promise.reject(new Error('y')), b]).then(() => console.log('any'))
 * Promise.resolve().then(() => console.log('j1')).then(() => console.log('j2'))
 *   .then(() => console.log('j3')).then(() => console.log('j4'))
 * a and b are used three times each: the first two uses pass a new reference,
 * the last one passes the reference itself. */
static void script(void *arg) {
  (void)arg;
  cw_promise *a = cw_resolved(loop, &one), *b = cw_resolved(loop, &two);
  cw_promise *all_of[] = {cw_ref(a), cw_ref(b)};
  cw_detach(cw_then(cw_all(loop, all_of, 2, NULL), then_say, NULL, "all"));
  cw_promise *race_of[] = {cw_ref(a), cw_ref(b)};
  cw_detach(cw_then(cw_race(loop, race_of, 2), then_say, NULL, "race"));
  cw_promise *settled_of[] = {a, cw_rejected(loop, UV_EINVAL)};
  cw_detach(cw_then(cw_all_settled(loop, settled_of, 2, NULL), then_say, NULL, "allSettled"));
  cw_promise *any_of[] = {cw_rejected(loop, UV_EINVAL), b};
  cw_detach(cw_then(cw_any(loop, any_of, 2), then_say, NULL, "any"));
  say_in_chain("j1", "j2", "j3", "j4", NULL);
}

int main(void) { return twin_main(script); }
