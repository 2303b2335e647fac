/* An early return on the first result between the awaits is control, not a
 * value the second call needs: still reported (cw_all() rejects as soon as
 * one of them does). */
#include <clockwork/core.h>

struct profile {
  cw_loop *loop;
  int user_id;
  void *user, *settings;
};

cw_promise *get_user(cw_loop *loop, int user_id);
cw_promise *get_settings(cw_loop *loop, int user_id);

cw_result load_profile(void *arg) {
  struct profile *p = arg;
  cw_result user = cw_await(get_user(p->loop, p->user_id));
  if (user.state == CW_REJECTED)
    return user;
  cw_result settings = cw_await(get_settings(p->loop, p->user_id));
  p->user = user.value;
  p->settings = settings.value;
  return settings;
}
