/* Awaits in a loop are await-in-loop's business, not this rule's. */
#include <clockwork/core.h>

struct sync {
  cw_loop *loop;
  int n;
};

cw_promise *push_left(cw_loop *loop, int i);
cw_promise *push_right(cw_loop *loop, int i);

cw_result push_all(void *arg) {
  struct sync *s = arg;
  for (int i = 0; i < s->n; i++) {
    cw_await(push_left(s->loop, i));
    cw_await(push_right(s->loop, i));
  }
  return cw_ok(NULL);
}
