/* The talk's readAllUserInfo: three requests that need nothing from each
 * other, each started only once the one before has answered. */
#include <clockwork/core.h>

struct user_info {
  cw_loop *loop;
  int user_id;
  void *user, *contracts, *invoices;
};

cw_promise *read_user(cw_loop *loop, int user_id);
cw_promise *read_contracts_for_user(cw_loop *loop, int user_id);
cw_promise *read_invoices_for_user(cw_loop *loop, int user_id);

cw_result read_all_user_info(void *arg) {
  struct user_info *info = arg;
  cw_result user = cw_await(read_user(info->loop, info->user_id));
  cw_result contracts = cw_await(read_contracts_for_user(info->loop, info->user_id));
  cw_result invoices = cw_await(read_invoices_for_user(info->loop, info->user_id));
  info->user = user.value;
  info->contracts = contracts.value;
  info->invoices = invoices.value;
  return cw_ok(info);
}
