/* The fix: start them together and wait once with cw_all(). */
#include <clockwork/core.h>

struct user_info {
  cw_loop *loop;
  int user_id;
  void *values[3];
};

cw_promise *read_user(cw_loop *loop, int user_id);
cw_promise *read_contracts_for_user(cw_loop *loop, int user_id);
cw_promise *read_invoices_for_user(cw_loop *loop, int user_id);

cw_result read_all_user_info(void *arg) {
  struct user_info *info = arg;
  cw_promise *all[3] = {
    read_user(info->loop, info->user_id),
    read_contracts_for_user(info->loop, info->user_id),
    read_invoices_for_user(info->loop, info->user_id),
  };
  return cw_await(cw_all(info->loop, all, 3, info->values));
}
