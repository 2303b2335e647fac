/* The marks of api.h, read from the shared parse of its directives. */
#include "api.h"
#include <unistd.h>

void start_2(cw_loop *loop) {
  start_job(loop);
}

cw_result worker(void *arg) {
  (void)arg;
  sleep(2);
  return cw_ok(NULL);
}
