/* Two awaits in one loop: both reported. The second uses the first's
 * result, but within one iteration: the iterations are still independent
 * of each other and could run together. */
#include <clockwork/core.h>

struct report {
  cw_loop *loop;
  const int *user_ids;
  size_t n;
  long orders;
};

cw_promise *get_user(cw_loop *loop, int id);
cw_promise *get_orders(cw_loop *loop, void *user);

cw_result count_orders(void *arg) {
  struct report *rep = arg;
  for (size_t i = 0; i < rep->n; i++) {
    cw_result user = cw_await(get_user(rep->loop, rep->user_ids[i]));
    cw_result orders = cw_await(get_orders(rep->loop, user.value));
    rep->orders += (long)orders.value;
  }
  return cw_ok(NULL);
}
