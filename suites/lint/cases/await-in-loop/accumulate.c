/* Results that only feed a total, an array or a field the loop does not
 * test do not make the loop sequential: reported. */
#include <clockwork/core.h>
#include <stdbool.h>

struct totals {
  cw_loop *loop;
  const int *accounts;
  int n;
  long sum;
  bool more;
  long last;
};

cw_promise *balance(cw_loop *loop, int account);

cw_result sum_balances(void *arg) {
  struct totals *t = arg;
  long values[16];
  for (int i = 0; i < t->n && i < 16; i++) {
    cw_result r = cw_await(balance(t->loop, t->accounts[i]));
    values[i] = (long)r.value;
    t->sum += values[i];
  }
  return cw_ok(NULL);
}

/* the loop tests one field of a struct, the result goes to another */
struct state {
  bool more;
  long last;
};

cw_result sum_until_told(void *arg) {
  struct totals *t = arg;
  struct state st = {true, 0};
  int i = 0;
  while (st.more) {
    st.last = (long)cw_await(balance(t->loop, t->accounts[i])).value;
    st.more = ++i < t->n;
  }
  return cw_ok(NULL);
}
