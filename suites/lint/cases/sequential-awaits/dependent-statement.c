/* Statements between the awaits: a value derived from the first result and
 * passed to the second call makes them dependent, and so does a struct
 * that holds it. Conservatively, so does writing the first result where
 * any call could read it: a global, or a call given the address of a
 * variable holding it. A store through a pointer the second call is not
 * given, or a statement that only reads the result, changes nothing:
 * reported. */
#include <clockwork/core.h>

struct session {
  cw_loop *loop;
  int user_id;
  void *current;
};

cw_promise *get_user(cw_loop *loop, int user_id);
cw_promise *get_orders(cw_loop *loop, int user_id);
cw_promise *get_orders_of(struct session *s);
int id_of(void *user);
void remember(cw_result *r);
void log_user(void *user);

void *current_user;

cw_result through_a_variable(void *arg) {
  struct session *s = arg;
  cw_result user = cw_await(get_user(s->loop, s->user_id));
  int id = id_of(user.value);
  return cw_await(get_orders(s->loop, id));
}

cw_result through_a_global(void *arg) {
  struct session *s = arg;
  cw_result user = cw_await(get_user(s->loop, s->user_id));
  current_user = user.value;
  return cw_await(get_orders(s->loop, s->user_id));
}

cw_result through_a_pointer(void *arg) {
  struct session *s = arg;
  cw_result user = cw_await(get_user(s->loop, s->user_id));
  s->current = user.value;
  return cw_await(get_orders(s->loop, s->user_id));
}

cw_result through_a_struct(void *arg) {
  struct session *s = arg;
  cw_result user = cw_await(get_user(s->loop, s->user_id));
  s->current = user.value;
  return cw_await(get_orders_of(s));
}

cw_result through_an_address(void *arg) {
  struct session *s = arg;
  cw_result user = cw_await(get_user(s->loop, s->user_id));
  remember(&user);
  return cw_await(get_orders(s->loop, s->user_id));
}

cw_result only_reads(void *arg) {
  struct session *s = arg;
  cw_result user = cw_await(get_user(s->loop, s->user_id));
  log_user(user.value);
  return cw_await(get_orders(s->loop, s->user_id));
}
