/* A loop that awaits a cw_sleep is paced on purpose: polling and rate
 * limiting are not reported. */
#include <clockwork/concurrency.h>
#include <stdbool.h>

struct poller {
  cw_loop *loop;
  int n;
  bool ready;
};

cw_promise *check_ready(cw_loop *loop);
cw_promise *send_ping(cw_loop *loop, int i);
bool job_done(struct poller *p);

cw_result wait_until_done(void *arg) {
  struct poller *p = arg;
  while (!job_done(p))
    cw_await(cw_sleep(p->loop, 100));
  return cw_ok(NULL);
}

cw_result ping_slowly(void *arg) {
  struct poller *p = arg;
  for (int i = 0; i < p->n; i++) {
    cw_await(send_ping(p->loop, i));
    cw_await(cw_sleep(p->loop, 1000));
  }
  return cw_ok(NULL);
}
