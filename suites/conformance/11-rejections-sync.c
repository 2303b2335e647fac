/* Twin of node/11-rejections-sync.js, the part of node/11-rejections.js
 * without async function k(): catch/finally ordering and rejection
 * propagation through a chain. new Error(...) is UV_EINVAL. k() gets its
 * twin once tasks (cw_spawn/cw_await) exist. */
#include "twin.h"

/* () => { throw new Error('e2') } */
static cw_result throw_e2(void *arg, cw_result in) {
  (void)arg, (void)in;
  return cw_err(UV_EINVAL);
}

/* Promise.reject(new Error('e1')).then(() => console.log('never')).catch(() => console.log('caught1'))
 *   .finally(() => console.log('finally1'))
 * Promise.resolve().then(() => { throw new Error('e2') }).then(null, () => console.log('caught2'))
 *   .then(() => console.log('after2'))
 * Promise.resolve().then(() => console.log('j1')).then(() => console.log('j2')).then(() => console.log('j3')) */
static void script(void *arg) {
  (void)arg;
  cw_promise *p = cw_rejected(loop, UV_EINVAL);
  p = cw_then(p, then_say, NULL, "never");
  p = cw_catch(p, then_say, "caught1");
  p = cw_finally(p, say, "finally1");
  cw_detach(p);

  p = cw_resolved(loop, NULL);
  p = cw_then(p, throw_e2, NULL, NULL);
  p = cw_then(p, NULL, then_say, "caught2");
  p = cw_then(p, then_say, NULL, "after2");
  cw_detach(p);

  p = cw_resolved(loop, NULL);
  p = cw_then(p, then_say, NULL, "j1");
  p = cw_then(p, then_say, NULL, "j2");
  p = cw_then(p, then_say, NULL, "j3");
  cw_detach(p);
}

int main(void) { return twin_main(script); }
