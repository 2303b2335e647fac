/* The talk's fetchUserListInfo: one request per id, each waiting for the
 * one before. */
#include <clockwork/core.h>

struct users {
  cw_loop *loop;
  const int *ids;
  size_t n;
  void **values;
};

cw_promise *fetch_user_info(cw_loop *loop, int id);

cw_result fetch_user_list_info(void *arg) {
  struct users *u = arg;
  for (size_t i = 0; i < u->n; i++)
    u->values[i] = cw_await(fetch_user_info(u->loop, u->ids[i])).value;
  return cw_ok(u->values);
}
