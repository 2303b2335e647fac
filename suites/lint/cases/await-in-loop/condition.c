/* Awaits in a loop's condition. One whose result decides the loop is
 * sequential by necessity (the next line is read only once the one before
 * has been); one whose result the condition drops is not. */
#include <clockwork/core.h>

struct reader {
  cw_loop *loop;
  void *stream;
  size_t lines, pending;
};

cw_promise *read_line(cw_loop *loop, void *stream);
cw_promise *flush_one(cw_loop *loop, void *stream);

cw_result count_lines(void *arg) {
  struct reader *rd = arg;
  while (cw_await(read_line(rd->loop, rd->stream)).value != NULL)
    rd->lines++;
  return cw_ok(NULL);
}

cw_result drain(void *arg) {
  struct reader *rd = arg;
  while ((void)cw_await(flush_one(rd->loop, rd->stream)), rd->pending > 0)
    rd->pending--;
  return cw_ok(NULL);
}
