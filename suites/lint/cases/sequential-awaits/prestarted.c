/* Promises started before the first await already run together: awaiting
 * them in a row costs nothing. One started only after an await does wait
 * for it. */
#include <clockwork/core.h>

struct dashboard {
  cw_loop *loop;
  void *news, *weather;
};

cw_promise *get_news(cw_loop *loop);
cw_promise *get_weather(cw_loop *loop);

cw_result started_together(void *arg) {
  struct dashboard *d = arg;
  cw_promise *news = get_news(d->loop);
  cw_promise *weather = get_weather(d->loop);
  d->news = cw_await(news).value;
  d->weather = cw_await(weather).value;
  return cw_ok(d);
}

cw_result started_late(void *arg) {
  struct dashboard *d = arg;
  cw_promise *news = get_news(d->loop);
  d->news = cw_await(news).value;
  cw_promise *weather = get_weather(d->loop);
  d->weather = cw_await(weather).value;
  return cw_ok(d);
}
