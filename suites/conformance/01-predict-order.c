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
  say_in_chain("C", "D", NULL);
  say("E");
}

int main(void) { return twin_main(script); }
