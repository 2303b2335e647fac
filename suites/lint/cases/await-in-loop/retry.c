/* Retries: the next attempt is made only when this one failed, so each
 * attempt waits for the one before by necessity. */
#include <clockwork/core.h>

struct conn {
  cw_loop *loop;
  const char *host;
  void *socket;
};

cw_promise *connect_to(cw_loop *loop, const char *host);

cw_result connect_with_retry(void *arg) {
  struct conn *c = arg;
  cw_result r = cw_err(-1);
  for (int attempt = 0; attempt < 5; attempt++) {
    r = cw_await(connect_to(c->loop, c->host));
    if (r.state == CW_FULFILLED)
      break;
  }
  c->socket = r.value;
  return r;
}

cw_result connect_until_done(void *arg) {
  struct conn *c = arg;
  cw_result r;
  int tries = 0;
  do {
    r = cw_await(connect_to(c->loop, c->host));
  } while (r.state == CW_REJECTED && ++tries < 3);
  return r;
}

cw_result connect_forever(void *arg) {
  struct conn *c = arg;
  for (;;) {
    cw_result r = cw_await(connect_to(c->loop, c->host));
    int failed = r.state != CW_FULFILLED;
    if (!failed) {
      c->socket = r.value;
      break;
    }
  }
  return cw_ok(c->socket);
}
