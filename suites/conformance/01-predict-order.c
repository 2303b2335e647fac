/* Twin of node/01-predict-order.js:
 *   console.log('A')
 *   setTimeout(() => console.log('B'), 0)
 *   Promise.resolve().then(() => console.log('C')).then(() => console.log('D'))
 *   console.log('E') */
#include "twin.h"

static void script(void *arg) {
  (void)arg;
  say("A");
  cw_set_timeout(loop, 0, say, "B");
  cw_promise *p = cw_resolved(loop, NULL);
  p = cw_then(p, then_say, NULL, "C");
  p = cw_then(p, then_say, NULL, "D");
  cw_detach(p);
  say("E");
}

int main(void) { return twin_main(script); }
