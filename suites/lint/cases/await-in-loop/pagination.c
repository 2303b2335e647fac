/* Pagination: whether there is another page is known only once this one
 * has arrived, so the loop is sequential by necessity. */
#include <clockwork/core.h>
#include <stdbool.h>

struct page {
  bool has_more;
  int count;
};

struct listing {
  cw_loop *loop;
  int total;
};

cw_promise *fetch_page(cw_loop *loop, int number);

cw_result list_everything(void *arg) {
  struct listing *l = arg;
  bool has_more = true;
  int number = 0;
  while (has_more) {
    cw_result r = cw_await(fetch_page(l->loop, number++));
    struct page *p = r.value;
    l->total += p->count;
    has_more = p->has_more;
  }
  return cw_ok(NULL);
}

/* the same with the state in a struct, and the test in a for condition */
struct cursor {
  bool done;
  int number;
};

cw_result list_with_state(void *arg) {
  struct listing *l = arg;
  struct cursor c = {false, 0};
  for (; !c.done; c.number++) {
    struct page *p = cw_await(fetch_page(l->loop, c.number)).value;
    c.done = !p->has_more;
  }
  return cw_ok(NULL);
}
