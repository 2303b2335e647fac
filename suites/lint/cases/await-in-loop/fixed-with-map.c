/* The fixes: start every request, then wait once, with cw_all() or with
 * cw_map() and a concurrency limit. The loops only start promises; the
 * awaits are outside them, and the per-element task awaits in no loop. */
#include <clockwork/concurrency.h>

struct users {
  cw_loop *loop;
  const int *ids;
  size_t n;
  cw_promise **pending;
  void **values;
};

cw_promise *fetch_user_info(cw_loop *loop, int id);
cw_promise *fetch_details(cw_loop *loop, void *user);

static cw_result user_with_details(void *arg) {
  struct users *u = arg;
  cw_result user = cw_await(fetch_user_info(u->loop, u->ids[0]));
  return cw_await(fetch_details(u->loop, user.value));
}

static cw_promise *start_one(void *arg, size_t i) {
  struct users *u = arg;
  return fetch_user_info(u->loop, u->ids[i]);
}

cw_result fetch_all_at_once(void *arg) {
  struct users *u = arg;
  for (size_t i = 0; i < u->n; i++)
    u->pending[i] = fetch_user_info(u->loop, u->ids[i]);
  return cw_await(cw_all(u->loop, u->pending, u->n, u->values));
}

cw_result fetch_all_limited(void *arg) {
  struct users *u = arg;
  return cw_await(cw_map(u->loop, u->n, start_one, u, 8, u->values));
}

cw_result fetch_one_with_details(void *arg) {
  return cw_await(cw_spawn(((struct users *)arg)->loop, user_with_details, arg));
}
