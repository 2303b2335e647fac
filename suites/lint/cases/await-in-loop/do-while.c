/* A do-while loop whose awaits do not decide whether it goes on. */
#include <clockwork/core.h>

struct batch {
  cw_loop *loop;
  int first, last;
};

cw_promise *send_record(cw_loop *loop, int id);

cw_result send_batch(void *arg) {
  struct batch *b = arg;
  int id = b->first;
  long sent = 0;
  do {
    cw_result r = cw_await(send_record(b->loop, id));
    if (r.state == CW_FULFILLED)
      sent++;
    id++;
  } while (id <= b->last);
  return cw_ok((void *)sent);
}
