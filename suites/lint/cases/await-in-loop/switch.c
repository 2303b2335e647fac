/* A break inside a switch leaves the switch, not the loop: reported. A
 * return decided by a switch on the result leaves the loop: sequential. */
#include <clockwork/core.h>

struct poll {
  cw_loop *loop;
  int n;
  int ok, failed;
};

cw_promise *probe(cw_loop *loop, int i);

cw_result count_probes(void *arg) {
  struct poll *p = arg;
  for (int i = 0; i < p->n; i++) {
    cw_result r = cw_await(probe(p->loop, i));
    switch (r.state) {
    case CW_FULFILLED:
      p->ok++;
      break;
    default:
      p->failed++;
      break;
    }
  }
  return cw_ok(NULL);
}

cw_result first_failure(void *arg) {
  struct poll *p = arg;
  for (int i = 0; i < p->n; i++) {
    cw_result r = cw_await(probe(p->loop, i));
    switch (r.state) {
    case CW_REJECTED:
      return r;
    default:
      p->ok++;
    }
  }
  return cw_ok(NULL);
}
