/* A dependent await ends a run and starts the next one. */
#include <clockwork/core.h>

struct shop {
  cw_loop *loop;
  int user_id;
  void *cart, *offers, *stock;
};

cw_promise *get_user(cw_loop *loop, int user_id);
cw_promise *get_cart(cw_loop *loop, void *user);
cw_promise *get_offers(cw_loop *loop);
cw_promise *get_stock(cw_loop *loop, void *cart);

/* user, then cart (needs user) and offers together: reported at offers */
cw_result after_the_user(void *arg) {
  struct shop *s = arg;
  cw_result user = cw_await(get_user(s->loop, s->user_id));
  s->cart = cw_await(get_cart(s->loop, user.value)).value;
  s->offers = cw_await(get_offers(s->loop)).value;
  return cw_ok(s);
}

/* user and offers together, then stock (needs the cart, from the user):
 * reported at offers */
cw_result before_the_stock(void *arg) {
  struct shop *s = arg;
  cw_result user = cw_await(get_user(s->loop, s->user_id));
  s->offers = cw_await(get_offers(s->loop)).value;
  s->stock = cw_await(get_stock(s->loop, user.value)).value;
  return cw_ok(s);
}
