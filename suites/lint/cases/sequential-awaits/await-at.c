/* The *_at spelling counts as an await, and is where the finding goes. */
#include <clockwork/core.h>

struct pair {
  cw_loop *loop;
  void *left, *right;
};

cw_promise *get_left(cw_loop *loop);
cw_promise *get_right(cw_loop *loop);

cw_result load_pair(void *arg) {
  struct pair *p = arg;
  p->left = cw_await_at(get_left(p->loop), __FILE__, __LINE__).value;
  p->right = cw_await_at(get_right(p->loop), __FILE__, __LINE__).value;
  return cw_ok(p);
}
