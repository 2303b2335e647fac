/* A block inside a branch is looked at on its own; a label, where control
 * may come in, ends a run. */
#include <clockwork/core.h>
#include <stdbool.h>

struct report {
  cw_loop *loop;
  bool full;
  void *sales, *costs;
};

cw_promise *get_sales(cw_loop *loop);
cw_promise *get_costs(cw_loop *loop);

cw_result build_report(void *arg) {
  struct report *r = arg;
  if (r->full) {
    r->sales = cw_await(get_sales(r->loop)).value;
    r->costs = cw_await(get_costs(r->loop)).value;
  }
  return cw_ok(r);
}

cw_result build_again(void *arg) {
  struct report *r = arg;
  r->sales = cw_await(get_sales(r->loop)).value;
again:
  r->costs = cw_await(get_costs(r->loop)).value;
  if (r->costs == NULL)
    goto again;
  return cw_ok(r);
}
