/* Each request needs the answer of the one before: nothing to report. */
#include <clockwork/core.h>

struct order_view {
  cw_loop *loop;
  int user_id;
  void *invoice;
};

struct user {
  int account_id;
};

cw_promise *get_user(cw_loop *loop, int user_id);
cw_promise *get_account(cw_loop *loop, int account_id);
cw_promise *get_invoice(cw_loop *loop, void *account);

cw_result latest_invoice(void *arg) {
  struct order_view *v = arg;
  cw_result user = cw_await(get_user(v->loop, v->user_id));
  cw_result account = cw_await(get_account(v->loop, ((struct user *)user.value)->account_id));
  v->invoice = cw_await(get_invoice(v->loop, account.value)).value;
  return cw_ok(v->invoice);
}

/* the same chain through locals and a field path */
struct ids {
  int account;
  int unused;
};

cw_result latest_invoice_via_locals(void *arg) {
  struct order_view *v = arg;
  struct ids ids = {0, 0};
  struct user *user = cw_await(get_user(v->loop, v->user_id)).value;
  ids.account = user->account_id + 0;
  int account_id = ids.account;
  void *account = cw_await(get_account(v->loop, account_id)).value;
  return cw_await(get_invoice(v->loop, account));
}
