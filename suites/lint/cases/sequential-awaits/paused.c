/* A cw_sleep between two calls is a pause on purpose: no run across it. */
#include <clockwork/concurrency.h>

struct ping {
  cw_loop *loop;
};

cw_promise *send_ping(cw_loop *loop);

cw_result ping_twice(void *arg) {
  struct ping *p = arg;
  cw_await(send_ping(p->loop));
  cw_await(cw_sleep(p->loop, 500));
  cw_await(send_ping(p->loop));
  return cw_ok(NULL);
}
