/* A loop that is sequential on purpose, for a reason cwlint cannot see
 * (the server allows one request at a time), says so. */
#include <clockwork/core.h>

struct sync {
  cw_loop *loop;
  const int *ids;
  size_t n;
};

cw_promise *push_record(cw_loop *loop, int id);

cw_result push_one_at_a_time(void *arg) {
  struct sync *s = arg;
  for (size_t i = 0; i < s->n; i++) {
    // cwlint-ignore: await-in-loop
    cw_await(push_record(s->loop, s->ids[i]));
    cw_await(push_record(s->loop, -s->ids[i])); // cwlint-ignore: await-in-loop
  }
  return cw_ok(NULL);
}
