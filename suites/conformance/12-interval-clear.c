/* Twin of node/12-interval-clear.js: intervals reschedule after their
 * callback; clearing from inside stops it. */
#include "twin.h"

#include <stdio.h>

static int n = 0;
static cw_timer *iv;

/* () => { n++; console.log('iv ' + n); if (n === 3) clearInterval(iv) } */
static void on_interval(void *arg) {
  (void)arg;
  n++;
  printf("iv %d\n", n);
  fflush(stdout);
  if (n == 3)
    cw_clear(iv);
}

/* let n = 0
 * const iv = setInterval(on_interval, 10)
 * setTimeout(() => console.log('t25'), 25)
 * setTimeout(() => console.log('t10'), 10) */
static void script(void *arg) {
  (void)arg;
  iv = cw_set_interval(loop, 10, on_interval, NULL);
  cw_set_timeout(loop, 25, say, "t25");
  cw_set_timeout(loop, 10, say, "t10");
}

int main(void) { return twin_main(script); }
