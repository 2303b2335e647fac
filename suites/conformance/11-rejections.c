/* Twin of node/11-rejections.js: catch/finally ordering and rejection
 * propagation through a chain, and through await in an async function (a
 * task: cw_await returns the rejection, where JavaScript throws it).
 * new Error(...) is UV_EINVAL. Built with WITHOUT_ASYNC_K (by
 * 11-rejections-sync.c) it is the twin of node/11-rejections-sync.js, the
 * same program without k(). */
#include "twin.h"

/* () => { throw new Error('e2') } */
static cw_result throw_e2(void *arg, cw_result in) {
  (void)arg, (void)in;
  return cw_err(UV_EINVAL);
}

#ifndef WITHOUT_ASYNC_K
/* async function k() { try { await Promise.reject(new Error('e3')) } catch (e) { console.log('caught3') }
 *   finally { console.log('finally3') } } */
static cw_result k(void *arg) {
  (void)arg;
  if (cw_await(cw_rejected(loop, UV_EINVAL)).state == CW_REJECTED)
    say("caught3");
  say("finally3");
  return cw_ok(NULL);
}
#endif

/* Promise.reject(new Error('e1')).then(() => console.log('never')).catch(() => console.log('caught1'))
 *   .finally(() => console.log('finally1'))
 * Promise.resolve().then(() => { throw new Error('e2') }).then(null, () => console.log('caught2'))
 *   .then(() => console.log('after2'))
 * k()   (not in 11-rejections-sync)
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

#ifndef WITHOUT_ASYNC_K
  cw_detach(cw_spawn(loop, k, NULL));
#endif

  say_in_chain("j1", "j2", "j3", NULL);
}

int main(void) { return twin_main(script); }
